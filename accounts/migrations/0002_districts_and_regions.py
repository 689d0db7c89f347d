"""Beijing's 16 districts (GB/T 2260) and the 17 competition regions."""

from django.db import migrations

DISTRICTS = [
    ("110101", "东城区", "Dongcheng"),
    ("110102", "西城区", "Xicheng"),
    ("110105", "朝阳区", "Chaoyang"),
    ("110106", "丰台区", "Fengtai"),
    ("110107", "石景山区", "Shijingshan"),
    ("110108", "海淀区", "Haidian"),
    ("110109", "门头沟区", "Mentougou"),
    ("110111", "房山区", "Fangshan"),
    ("110112", "通州区", "Tongzhou"),
    ("110113", "顺义区", "Shunyi"),
    ("110114", "昌平区", "Changping"),
    ("110115", "大兴区", "Daxing"),
    ("110116", "怀柔区", "Huairou"),
    ("110117", "平谷区", "Pinggu"),
    ("110118", "密云区", "Miyun"),
    ("110119", "延庆区", "Yanqing"),
]
DEVELOPMENT_AREA = ("bda", "北京经济技术开发区", "Beijing Economic-Technological Development Area")


def load(apps, schema_editor):
    District = apps.get_model("accounts", "District")
    Region = apps.get_model("accounts", "Region")
    for order, (code, zh, en) in enumerate(DISTRICTS, start=1):
        district, _ = District.objects.update_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en}
        )
        Region.objects.update_or_create(
            slug=en.lower(),
            defaults={"name_zh": zh, "name_en": en, "district": district, "sort_order": order},
        )
    slug, zh, en = DEVELOPMENT_AREA
    Region.objects.update_or_create(
        slug=slug,
        defaults={"name_zh": zh, "name_en": en, "district": None, "sort_order": len(DISTRICTS) + 1},
    )


def unload(apps, schema_editor):
    apps.get_model("accounts", "Region").objects.all().delete()
    apps.get_model("accounts", "District").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
