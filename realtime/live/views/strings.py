"""Every text the live-round and PK scripts show, translated on the server (one
catalogue), handed to the pages as JSON."""

from __future__ import annotations

from django.utils.translation import gettext as _


def client_strings() -> dict[str, str]:
    """Every text the live-round scripts show, translated here (one catalogue)."""
    return {
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "question_of": _("Question %(n)s of %(total)s"),
        "seconds_left": _("%(s)s seconds left"),
        "time_up": _("Time is up."),
        "answer_sending": _("Sending your answer…"),
        "answer_retrying": _("Your answer was not saved yet. Sending it again…"),
        "answer_failed": _("Your answer could not be saved. Please answer again."),
        "answer_not_saved": _("Your answer could not be saved."),
        "answer_received": _("Answer received."),
        "answer_submit": _("Submit answer"),
        "answer_clear": _("Start again"),
        "answer_placeholder": _("Type your answer"),
        "true": _("True"),
        "false": _("False"),
        "ordering_hint": _("Tap the options in the right order, then submit."),
        "multiple_hint": _("Choose every right option, then submit."),
        "closed": _("Answers are closed. Wait for the result."),
        "correct": _("Right!"),
        "wrong": _("Not this time."),
        "no_answer": _("You did not answer this question."),
        "gained": _("+%(points)s points"),
        "total": _("Total: %(points)s points"),
        "rank": _("Rank: %(rank)s"),
        "streak": _("Streak: %(streak)s"),
        "right_answer": _("Right answer"),
        "accepted_answers": _("Accepted answers: %(answers)s"),
        "answer_is": _("Right answer: %(value)s"),
        "final_results": _("Final results"),
        "leaderboard": _("Leaderboard"),
        "your_rank": _("You are number %(rank)s with %(points)s points."),
        "finished": _("The round is over. Thank you for playing!"),
        "paused": _("The host paused the round."),
        "aborted": _("The host stopped the round."),
        "kicked": _("The host removed you from this round."),
        "voided": _("Question %(n)s no longer counts. The scores were updated."),
        "answer_one": _("%(n)s answer"),
        "answers_count": _("%(n)s answers"),
        "your_answer": _("Your answer"),
        "points": _("points"),
        "reject_too_late": _("Too late: the time was up when your answer arrived."),
        "reject_too_early": _("The question was not open yet."),
        "reject_not_open": _("The question is closed."),
        "reject_already_answered": _("You have already answered this question."),
        "reject_not_current_question": _("That question is no longer open."),
        "reject_bad_response": _("That answer could not be read. Try again."),
        "reject_kicked": _("The host removed you from this round."),
        "reject_other": _("Your answer was not accepted."),
        "status_lobby": _("Lobby"),
        "status_question_open": _("Question open"),
        "status_question_closed": _("Question closed"),
        "status_revealed": _("Answer revealed"),
        "status_leaderboard": _("Leaderboard"),
        "status_paused": _("Paused"),
        "status_finished": _("Finished"),
        "status_aborted": _("Aborted"),
        "kick": _("Remove"),
        "kick_confirm": _("Remove %(name)s from the round?"),
        "abort_confirm": _("Stop the round for everyone? This cannot be undone."),
        "void_confirm": _("Void question %(n)s and re-score the round?"),
        "locked_yes": _("Locked: nobody else can join."),
        "locked_no": _("Open: players can join."),
        "distribution": _("Answers per option"),
        "no_distribution": _("Typed answers are not charted."),
        **error_strings(),
        **team_strings(),
        **seat_strings(),
    }


def error_strings() -> dict[str, str]:
    """Why a join (or another message) was refused: `error_<code>` of docs/protocol.md."""
    return {
        "error_nickname": _("Choose a nickname."),
        "error_roster_token": _("Type the join code from your card."),
        "error_nickname_taken": _("Someone in this round already uses that nickname."),
        "error_locked": _("The host has locked this round."),
        "error_round_over": _("This round is over."),
        "error_no_round": _("There is no round with this PIN."),
        "error_pin_throttled": _(
            "Too many wrong PINs were tried from your network. Wait a minute and try again."
        ),
        "error_consent_required": _("A guardian must agree before you can play."),
        "error_rate_limited": _("Too fast. Wait a moment."),
        "error_other": _("Something went wrong. Try again."),
    }


def seat_strings() -> dict[str, str]:
    """One device per seat: a join slip used again on another device takes it over."""
    return {
        "replaced": _(
            "Your join slip was used on another device, which now plays as you. "
            "If that was not you, tell the host."
        ),
        "player_replaced": _(
            "%(name)s is now playing on another device (the join slip was used again); "
            "the earlier device was disconnected."
        ),
    }


def team_strings() -> dict[str, str]:
    """Texts of team rounds and the stage finals: teams, captains, turns, buzz, stakes."""
    return {
        "error_team": _("Choose your team."),
        "team_of": _("Your team: %(team)s"),
        "captain": _("captain"),
        "team_points": _("Team: %(points)s points"),
        "team_standing": _("%(team)s: %(points)s points, rank %(rank)s"),
        "team_rank_line": _("%(team)s is number %(rank)s with %(points)s points."),
        "team_members_one": _("%(n)s player"),
        "team_members": _("%(n)s players"),
        "you_captain": _("You are your team's captain: you answer, buzz and stake for the team."),
        "you_member": _("Your team's captain answers for the team. Follow the questions here."),
        "captain_answers": _("Your captain answers this question for the team."),
        "captain_answered": _("Your captain answered for the team."),
        "lost": _("−%(points)s points"),
        "turn_all": _("Every team answers"),
        "turn_compulsory": _("Compulsory (必答): %(team)s answers"),
        "turn_buzzer": _("Buzzer (抢答): the first team to buzz answers"),
        "turn_risk": _("Risk (风险): %(team)s answers for its stake"),
        "turn_tiebreak": _("Tie-break: no points, it breaks a tie"),
        "value_plus": _("+%(value)s points if right"),
        "value_both": _("±%(value)s points"),
        "stake_is": _("Stake: %(stake)s points"),
        "stake_none": _("No stake chosen: the team plays for 10 points."),
        "other_turn": _("It is %(team)s's turn. Watch and wait."),
        "not_our_question": _("This question was not your team's."),
        "buzz_sending": _("Buzzing…"),
        "buzz_first": _("You buzzed first! Answer now."),
        "buzz_led_by": _("%(team)s buzzed first."),
        "buzz_nobody": _("Nobody has buzzed yet."),
        "buzz_tie": _("Tie (平局)! %(teams)s buzzed less than %(ms)s ms apart: the host decides."),
        "buzz_tie_time": _("%(team)s +%(ms)s ms"),
        "buzz_awarded": _("Tie (平局) settled by the host: %(team)s answers."),
        "buzz_award": _("Give it to %(team)s"),
        "buzz_award_confirm": _("Give question %(n)s to %(team)s? The award cannot be changed."),
        "buzz_reject_too_late": _("Too late to buzz."),
        "buzz_reject_too_early": _("The question was not open yet."),
        "buzz_reject_not_open": _("The question is closed."),
        "buzz_reject_other": _("Your buzz was not accepted."),
        "stake_sending": _("Sending your stake…"),
        "stake_done": _("Your stake: %(stake)s points."),
        "staked": _("%(team)s stakes %(stake)s points on question %(n)s."),
        "stake_reject_too_late": _("Too late: the question has been shown."),
        "stake_reject_already_staked": _("Your team has already chosen another stake."),
        "stake_reject_other": _("Your stake was not accepted."),
        "reject_not_captain": _("Only your team's captain answers."),
        "reject_not_your_turn": _("It is not your team's turn."),
        "no_team": _("No team"),
    }


def pk_strings() -> dict[str, str]:
    """The texts of the 1-v-1 PK page's script, on top of the live rounds' own."""
    return {
        "pk_waiting": _("Looking for an opponent…"),
        "pk_wait_left": _("Waiting at most %(s)s more seconds."),
        "pk_timeout": _("Nobody is free right now. Try again in a moment."),
        "pk_cancelled": _("You stopped looking."),
        "pk_versus": _("%(you)s vs %(opponent)s"),
        "pk_get_ready": _("Get ready! The first question comes in %(s)s seconds."),
        "pk_opponent_answered": _("Your opponent has answered."),
        "pk_next_in": _("Next question in %(s)s seconds."),
        "pk_result_in": _("The result comes in %(s)s seconds."),
        "pk_win": _("You win!"),
        "pk_lose": _("Your opponent wins this time."),
        "pk_draw": _("A draw!"),
        "pk_score_line": _("%(you)s %(mine)s : %(theirs)s %(opponent)s"),
        "pk_opponent_right": _("Your opponent was right."),
        "pk_opponent_wrong": _("Your opponent was wrong."),
        "pk_opponent_none": _("Your opponent did not answer."),
        "error_sign_in_required": _("Sign in to play PK."),
        "error_no_questions": _("No questions are ready for PK yet."),
        "error_unknown_player": _("That match is over or not yours."),
    }
