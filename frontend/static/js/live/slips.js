// The join slips page: a print button (the page prints fine without it, from the browser).
const button = document.querySelector("[data-print]");
if (button) {
  button.addEventListener("click", () => window.print());
}
