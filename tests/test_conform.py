"""Conforming functions: table-driven cases from the data contract's "What real data looks like"."""

from datetime import date

import pandas as pd
import phonenumbers
import pytest
from stdnum.cn import ric, uscc

from pipelines.conform import (
    conform_address,
    conform_column,
    conform_email,
    conform_name,
    conform_party_id,
    conform_phone,
    conform_plate,
    conform_values,
    conform_vin,
    org_code_check_digit,
    vin_check_digit,
)
from pipelines.conform import frame as frame_module
from pipelines.workers import worker_pool


def make_ric(body17: str) -> str:
    """A resident id with a correct ISO 7064 MOD 11-2 check digit."""
    return body17 + ric.calc_check_digit(body17 + "0")


def wrong_check(number: str, alphabet: str = "0123456789") -> str:
    return number[:-1] + next(c for c in alphabet if c != number[-1])


MALE_1990 = make_ric("31011519900307123")  # Pudong, born 1990-03-07, sequence 123 (odd: male)
FEMALE_1985 = make_ric("44030519851231002")  # Nanshan, born 1985-12-31, sequence 002 (even: female)
X_RIC = next(rid for n in range(1000) if (rid := make_ric(f"11010519800101{n:03d}")).endswith("X"))
USCC = "91310115" + "MA1K3L4U" + "7"
USCC = USCC[:17] + uscc.calc_check_digit(USCC[:17])
ORG = "MA1K3L4U" + org_code_check_digit("MA1K3L4U")
GOOD_VIN = "LSVAU2180N218329"
GOOD_VIN = GOOD_VIN[:8] + vin_check_digit(GOOD_VIN[:8] + "0" + GOOD_VIN[8:]) + GOOD_VIN[8:]


# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164", "kind"),
    [
        ("+86 138 0013 8000", "+8613800138000", "mobile"),
        ("0086-13800138000", "+8613800138000", "mobile"),
        ("138-0013-8000", "+8613800138000", "mobile"),
        ("13800138000", "+8613800138000", "mobile"),
        ("86 13800138000", "+8613800138000", "mobile"),
        ("013800138000", "+8613800138000", "mobile"),  # behind the trunk prefix
        ("+86-138-0013-8000", "+8613800138000", "mobile"),
        ("+86(0)13800138000", "+8613800138000", "mobile"),
        (" １３８００１３８０００ ", "+8613800138000", "mobile"),  # full-width digits
        (13800138000, "+8613800138000", "mobile"),  # parquet int
        (13800138000.0, "+8613800138000", "mobile"),  # pandas float
        ("13800138000.0", "+8613800138000", "mobile"),  # Excel export
        ("13800138000/13900139000", "+8613800138000", "mobile"),  # two numbers: first one
        ("021-5888 1234", "+862158881234", "landline"),
        ("02158881234", "+862158881234", "landline"),
        ("021-58881234转801", "+862158881234", "landline"),
        ("400-800-1234", "+864008001234", "landline"),
        ("+1 650 253 0000", "+16502530000", "mobile"),
    ],
)
def test_phone_valid(raw, e164, kind):
    result = conform_phone(raw)
    assert (result.e164, result.kind, result.is_valid) == (e164, kind, True)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "013800138000",
        "8613800138000",
        "0086 138 0013 8000",
        "+86 138 0013 8000",
        "+86 12800138000",
        "+0086 13800138000",
        "+86+13800138000",
        "+852 1380 0138 000",
        "+1 13800138000",
    ],
)
def test_mobile_shortcut_gives_what_phonenumbers_gives(raw):
    """The forms conform_phone reads without phonenumbers.parse: the same number and type as parse's."""
    try:
        number = phonenumbers.parse(raw, "CN")
        valid = phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.UNKNOWN
        expected = (
            f"+{number.country_code}{phonenumbers.national_significant_number(number)}" if valid else None
        )
    except phonenumbers.NumberParseException:
        expected = None
    assert conform_phone(raw).e164 == expected


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("anonymous", "empty"),
        ("unknown", "empty"),
        ("Unknown", "empty"),
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        (float("nan"), "empty"),
        ("13800000000", "placeholder"),
        ("11111111111", "placeholder"),
        ("00000000000", "placeholder"),
        ("12345678901", "placeholder"),
        ("98765432109", "placeholder"),
        ("13912345678", "placeholder"),
        ("13988888888", "placeholder"),
        ("+86 138 0000 0000", "placeholder"),
        ("1380013800", "invalid"),  # a digit missing
        ("138001380000", "invalid"),  # a digit too many
        ("12800138000", "invalid"),  # no such mobile prefix
        ("abc", "invalid"),
    ],
)
def test_phone_not_usable(raw, kind):
    result = conform_phone(raw)
    assert (result.e164, result.kind, result.is_valid) == (None, kind, False)


# --- party ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "hint", "value", "birth", "sex"),
    [
        (MALE_1990, "身份证", MALE_1990, date(1990, 3, 7), "M"),
        (MALE_1990, "居民身份证", MALE_1990, date(1990, 3, 7), "M"),
        (MALE_1990, "ID_CARD", MALE_1990, date(1990, 3, 7), "M"),
        (MALE_1990, None, MALE_1990, date(1990, 3, 7), "M"),  # vendor B: inferred
        (MALE_1990, "护照", MALE_1990, date(1990, 3, 7), "M"),  # the value proves it, not the label
        (f" {MALE_1990[:6]} {MALE_1990[6:14]} {MALE_1990[14:]} ", None, MALE_1990, date(1990, 3, 7), "M"),
        (FEMALE_1985, "身份证", FEMALE_1985, date(1985, 12, 31), "F"),
        (X_RIC.lower(), "身份证", X_RIC, date(1980, 1, 1), None),
        (X_RIC, None, X_RIC, date(1980, 1, 1), None),
        # legacy 15-digit id: century and check digit added
        (MALE_1990[:6] + MALE_1990[8:17], "身份证", MALE_1990, date(1990, 3, 7), "M"),
        (MALE_1990[:6] + MALE_1990[8:17], None, MALE_1990, date(1990, 3, 7), "M"),
    ],
)
def test_resident_id_valid(raw, hint, value, birth, sex):
    result = conform_party_id(raw, hint)
    assert (result.kind, result.value, result.is_valid) == ("resident_id", value, True)
    assert result.birth_date == birth
    assert result.region_code == value[:6]
    if sex:
        assert result.sex == sex
    assert result.sex == ("M" if int(value[16]) % 2 else "F")


@pytest.mark.parametrize("hint", ["身份证", "ID_CARD", None])
def test_resident_id_broken_check_digit_kept_but_invalid(hint):
    broken = wrong_check(MALE_1990)
    result = conform_party_id(broken, hint)
    assert (result.kind, result.value, result.is_valid) == ("resident_id", broken, False)
    assert result.birth_date == date(1990, 3, 7)


def test_mistyped_resident_id_that_passes_the_uscc_check_stays_a_resident_id():
    value = "310115199003070006"  # check digit wrong for a resident id, right for a USCC by chance
    assert uscc.is_valid(value) and not ric.is_valid(value)
    assert (conform_party_id(value).kind, conform_party_id(value).is_valid) == ("resident_id", False)
    assert conform_party_id(value, "身份证").kind == "resident_id"
    assert conform_party_id(value, "统一社会信用代码").kind == "uscc"


def test_resident_id_digit_typo_breaks_check():
    typo = MALE_1990[:10] + ("4" if MALE_1990[10] != "4" else "5") + MALE_1990[11:]
    result = conform_party_id(typo, "身份证")
    assert result.kind == "resident_id" and not result.is_valid


def test_resident_id_impossible_date_is_invalid():
    bad_date = make_ric("31011519901332123")
    result = conform_party_id(bad_date, "身份证")
    assert (result.kind, result.is_valid, result.birth_date, result.sex) == ("resident_id", False, None, None)


@pytest.mark.parametrize(
    ("raw", "hint", "kind", "value", "valid"),
    [
        (USCC, "统一社会信用代码", "uscc", USCC, True),
        (USCC, "USCC", "uscc", USCC, True),
        (USCC, None, "uscc", USCC, True),
        (USCC.lower(), "身份证", "uscc", USCC, True),  # label wrong, value proves USCC
        ("91110000600037341L", None, "uscc", "91110000600037341L", True),
        (wrong_check(USCC, "0123456789ABCDEFGHJKLMNPQRTUWXY"), "USCC", "uscc", None, False),
        (wrong_check(USCC, "0123456789ABCDEFGHJKLMNPQRTUWXY"), None, "uscc", None, False),
        (ORG, "组织机构代码", "org_code", ORG, True),
        (ORG[:8] + "-" + ORG[8], None, "org_code", ORG, True),
        (ORG, "ORG_CODE", "org_code", ORG, True),
        ("600037341", None, "org_code", "600037341", True),
        (wrong_check(ORG), "ORG_CODE", "org_code", None, False),
        ("E12345678", "护照", "passport", "E12345678", True),
        ("E12345678", "PASSPORT", "passport", "E12345678", True),
        ("e12345678", None, "passport", "E12345678", True),
        ("EA1234567", "身份证", "passport", "EA1234567", True),  # label wrong, shape says passport
        ("K1234567", "PASSPORT", "passport", "K1234567", True),
        ("123456789", "PASSPORT", "passport", "123456789", True),
        ("12345", None, "unknown", "12345", False),
        ("310115900307123", "统一社会信用代码", "unknown", "310115900307123", False),  # old licence no.
        ("", "身份证", "empty", None, False),
        (None, None, "empty", None, False),
        ("无", "身份证", "empty", None, False),
    ],
)
def test_party_id_kinds(raw, hint, kind, value, valid):
    result = conform_party_id(raw, hint)
    assert (result.kind, result.is_valid) == (kind, valid)
    if value is not None:
        assert result.value == value
    if kind == "uscc":
        assert result.region_code == result.value[2:8]
    if kind != "resident_id":
        assert result.birth_date is None and result.sex is None


def test_org_code_check_digit_known_value():
    assert org_code_check_digit("60003734") == "1"  # the organisation code inside 91110000600037341L


# --- vehicles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "vin", "last6", "full", "valid"),
    [
        ("1M8GDM9AXKP042788", "1M8GDM9AXKP042788", "042788", True, True),  # ISO 3779 textbook example
        ("1m8gdm9axkp042788", "1M8GDM9AXKP042788", "042788", True, True),
        ("1M8GDM9AXKPO42788", "1M8GDM9AXKP042788", "042788", True, True),  # O for 0
        ("1M8GDM9AXKPQ42788", "1M8GDM9AXKP042788", "042788", True, True),  # Q for 0
        ("IM8GDM9AXKP042788", "1M8GDM9AXKP042788", "042788", True, True),  # I for 1
        (" 1M8GDM9AXKP-042788 ", "1M8GDM9AXKP042788", "042788", True, True),
        (GOOD_VIN, GOOD_VIN, GOOD_VIN[-6:], True, True),
        (GOOD_VIN.lower(), GOOD_VIN, GOOD_VIN[-6:], True, True),
        ("1M8GDM9A1KP042788", "1M8GDM9A1KP042788", "042788", True, False),  # wrong check digit
        ("1M8GDM9AXKP042789", "1M8GDM9AXKP042789", "042789", True, False),  # a typo elsewhere
        ("042788", None, "042788", False, True),  # repair order: last 6 only
        ("o42788", None, "042788", False, True),
        ("1M8GDM9AXKP04278", None, None, False, False),  # 16 chars
        ("", None, None, False, False),
        (None, None, None, False, False),
    ],
)
def test_vin(raw, vin, last6, full, valid):
    result = conform_vin(raw)
    assert (result.vin, result.last6, result.is_full, result.is_valid) == (vin, last6, full, valid)


@pytest.mark.parametrize(
    ("raw", "plate", "valid", "new_energy"),
    [
        ("沪A12345", "沪A12345", True, False),
        ("沪A·12345", "沪A12345", True, False),
        ("沪a 12345", "沪A12345", True, False),
        ("沪A-12345", "沪A12345", True, False),
        ("沪Ａ１２３４５", "沪A12345", True, False),  # full-width
        ("滬A12345", "沪A12345", True, False),  # traditional province character
        ("粤B8K2N7", "粤B8K2N7", True, False),
        ("京A1234学", "京A1234学", True, False),
        ("沪AD12345", "沪AD12345", True, True),  # new energy, small car
        ("沪ADK1234", "沪ADK1234", True, True),
        ("沪AF1K234", "沪AF1K234", False, False),  # new energy: the last four are digits
        ("沪A12345D", "沪A12345D", True, True),  # new energy, large vehicle
        ("沪a·d12345", "沪AD12345", True, True),
        ("沪A1234", "沪A1234", False, False),  # too short
        ("沪AI2345", "沪AI2345", False, False),  # I is never used
        ("AB12345", "AB12345", False, False),  # no province
        ("", None, False, False),
        (None, None, False, False),
    ],
)
def test_plate(raw, plate, valid, new_energy):
    result = conform_plate(raw)
    assert (result.plate, result.is_valid, result.is_new_energy) == (plate, valid, new_energy)


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "张伟",
        "張偉",
        "张 伟",
        " 张　伟 ",
        "张玮",
        "Zhang Wei",
        "WEI ZHANG",
        "zhangwei",
        "Zhang  Wei",
        "ZHANG Wei",
        "Wei ZHANG",
        "Zhang, Wei",
        "weizhang",
        "张伟先生",
    ],
)
def test_name_same_pinyin_key(raw):
    result = conform_name(raw)
    assert result.pinyin_key == "zhangwei"
    assert result.is_full_name and not result.is_company


@pytest.mark.parametrize(
    ("raw", "name", "surname", "given"),
    [
        ("张伟", "张伟", "张", "伟"),
        ("張偉", "张伟", "张", "伟"),
        ("张 伟", "张伟", "张", "伟"),
        ("Zhang Wei", "Zhang Wei", "Zhang", "Wei"),
        ("WEI ZHANG", "Zhang Wei", "Zhang", "Wei"),
        ("zhangwei", "Zhang Wei", "Zhang", "Wei"),
    ],
)
def test_name_parts(raw, name, surname, given):
    result = conform_name(raw)
    assert (result.name, result.surname, result.given_name) == (name, surname, given)
    assert result.script == ("han" if "张" in name else "latin")


@pytest.mark.parametrize(
    ("raw", "key", "surname"),
    [
        ("单伟", "shanwei", "单"),
        ("曾伟", "zengwei", "曾"),
        ("曾國藩", "zengguofan", "曾"),
        ("解放", "xiefang", "解"),
        ("仇明", "qiuming", "仇"),
        ("区明", "ouming", "区"),
        ("查良镛", "zhaliangyong", "查"),
        ("朴明", "piaoming", "朴"),
        ("盖伟", "gewei", "盖"),
        ("覃伟", "qinwei", "覃"),
        ("乐伟", "yuewei", "乐"),
        ("翟伟", "zhaiwei", "翟"),
        ("吕伟", "luwei", "吕"),
        ("欧阳修", "ouyangxiu", "欧阳"),
        ("司马相如", "simaxiangru", "司马"),
        ("诸葛亮", "zhugeliang", "诸葛"),
        ("上官婉儿", "shangguanwaner", "上官"),
        ("东方明", "dongfangming", "东方"),
        ("皇甫嵩", "huangfusong", "皇甫"),
        ("尉迟恭", "yuchigong", "尉迟"),
        ("令狐冲", "linghuchong", "令狐"),
        ("慕容复", "murongfu", "慕容"),
        ("长孙无忌", "zhangsunwuji", "长孙"),
        ("司徒雷", "situlei", "司徒"),
        ("夏侯惇", "xiahoudun", "夏侯"),
        ("Ouyang Xiu", "ouyangxiu", "Ouyang"),
        ("Xiu Ouyang", "ouyangxiu", "Ouyang"),
        ("ouyangxiu", "ouyangxiu", "Ouyang"),
        ("Li Na", "lina", "Li"),
        ("Na Li", "lina", "Li"),
        ("Zhang Xiao Ming", "zhangxiaoming", "Zhang"),
        ("Xiaoming ZHANG", "zhangxiaoming", "Zhang"),
    ],
)
def test_name_surnames(raw, key, surname):
    result = conform_name(raw)
    assert (result.pinyin_key, result.surname) == (key, surname)
    assert result.is_full_name


@pytest.mark.parametrize(
    ("raw", "surname", "sex", "key"),
    [
        ("张先生", "张", "M", "zhang"),
        ("王女士", "王", "F", "wang"),
        ("李小姐", "李", "F", "li"),
        ("陈总", "陈", None, "chen"),
        ("刘经理", "刘", None, "liu"),
        ("欧阳先生", "欧阳", "M", "ouyang"),
        ("單先生", "单", "M", "shan"),
        ("张 先生", "张", "M", "zhang"),
        ("老王", "王", None, "wang"),
        ("张某", "张", None, "zhang"),
        ("张**", "张", None, "zhang"),
        ("张", "张", None, "zhang"),
        ("Mr Zhang", "Zhang", "M", "zhang"),
        ("Ms. Wang", "Wang", "F", "wang"),
    ],
)
def test_name_honorific_only(raw, surname, sex, key):
    result = conform_name(raw)
    assert not result.is_full_name and not result.is_company
    assert (result.surname, result.honorific_sex, result.pinyin_key) == (surname, sex, key)
    assert result.given_name is None


def test_full_name_with_honorific_keeps_full_name_and_sex():
    result = conform_name("王芳女士")
    assert (result.name, result.is_full_name, result.honorific_sex, result.pinyin_key) == (
        "王芳",
        True,
        "F",
        "wangfang",
    )


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("上海某某物流有限公司", "上海某某物流有限公司"),
        ("上海 某某 物流 有限公司", "上海某某物流有限公司"),
        # full-width brackets folded
        ("上海某某物流有限公司（浦东分公司）", "上海某某物流有限公司(浦东分公司)"),
        ("深圳市華為技術有限公司", "深圳市华为技术有限公司"),
        ("上汽大众股份有限公司", "上汽大众股份有限公司"),
        ("某某集团", "某某集团"),
        ("上海申通汽车销售服务中心", "上海申通汽车销售服务中心"),
        ("宝山永达4S店", "宝山永达4S店"),
        ("宝山永达４Ｓ店", "宝山永达4S店"),
        ("昆山五金厂", "昆山五金厂"),
        ("Shanghai Logistics Co., Ltd.", "Shanghai Logistics Co., Ltd."),
    ],
)
def test_company_names(raw, name):
    result = conform_name(raw)
    assert result.is_company and result.is_full_name
    assert result.name == name
    assert result.surname is None and result.honorific_sex is None
    assert result.pinyin_key


@pytest.mark.parametrize("raw", [None, "", "  ", "散客", "未知", "匿名", "N/A", "null", "123"])
def test_empty_names(raw):
    result = conform_name(raw)
    assert (result.name, result.script, result.pinyin_key) == (None, "empty", None)
    assert not result.is_full_name


def test_minority_name_with_dot_has_no_surname():
    result = conform_name("阿依古丽•买买提")
    assert (result.name, result.surname, result.is_full_name) == ("阿依古丽·买买提", None, True)
    assert result.pinyin_key == "ayigulimaimaiti"


# --- addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "province_hint", "city_hint", "expected"),
    [
        ("上海市浦东新区张江路123号", None, None, ("上海", "上海", "浦东新区", "张江路123号")),
        ("上海浦东新区张江路123号", None, None, ("上海", "上海", "浦东新区", "张江路123号")),
        ("上海市上海市浦东新区张江路123号", None, None, ("上海", "上海", "浦东新区", "张江路123号")),
        ("浦东新区张江路123号", "上海", "上海", ("上海", "上海", "浦东新区", "张江路123号")),
        ("浦东新区张江路１２３号", "上海市", "上海市", ("上海", "上海", "浦东新区", "张江路123号")),
        ("浦东新区张江路123号", None, None, ("上海", "上海", "浦东新区", "张江路123号")),
        ("浦东张江路123号", "上海市", None, ("上海", "上海", "浦东新区", "张江路123号")),
        ("张江路123号", "上海市", "上海市", ("上海", "上海", None, "张江路123号")),
        ("南京路100号", "上海", None, ("上海", "上海", None, "南京路100号")),
        ("广东省深圳市南山区科技园南区", None, None, ("广东", "深圳", "南山区", "科技园南区")),
        ("广东深圳南山区科技园南区", None, None, ("广东", "深圳", "南山区", "科技园南区")),
        ("深圳市南山区科技园南区", None, None, ("广东", "深圳", "南山区", "科技园南区")),
        ("南山区科技园南区", "广东省", "深圳市", ("广东", "深圳", "南山区", "科技园南区")),
        ("北京市朝阳区建国路1号", None, None, ("北京", "北京", "朝阳区", "建国路1号")),
        ("朝阳区建国路1号", "北京", None, ("北京", "北京", "朝阳区", "建国路1号")),
        ("吉林省长春市朝阳区人民大街1号", None, None, ("吉林", "长春", "朝阳区", "人民大街1号")),
        ("吉林市船营区北京路1号", None, None, ("吉林", "吉林", "船营区", "北京路1号")),
        ("江苏省昆山市前进路1号", None, None, ("江苏", "苏州", "昆山市", "前进路1号")),
        ("内蒙古自治区呼和浩特市新城区", None, None, ("内蒙古", "呼和浩特", "新城区", None)),
        ("广西壮族自治区南宁市青秀区民族大道1号", None, None, ("广西", "南宁", "青秀区", "民族大道1号")),
        ("新疆乌鲁木齐市天山区", None, None, ("新疆", "乌鲁木齐", "天山区", None)),
        ("广東省廣州市天河區天河路1號", None, None, ("广东", "广州", "天河区", "天河路1号")),
        (None, "上海市", "上海市", ("上海", "上海", None, None)),
        ("", "广东省", "深圳", ("广东", "深圳", None, None)),
    ],
)
def test_address(raw, province_hint, city_hint, expected):
    result = conform_address(raw, province_hint, city_hint)
    assert (result.province, result.city, result.district, result.street) == expected


def test_address_full_is_consistent_across_spellings():
    spellings = [
        conform_address("上海市浦东新区张江路123号"),
        conform_address("上海浦东新区张江路１２３号"),
        conform_address("浦东新区 张江路123号", "上海", "上海市"),
    ]
    assert {s.full for s in spellings} == {"上海浦东新区张江路123号"}


def test_address_empty():
    assert conform_address(None) == conform_address("  ")
    assert conform_address(None).full is None


# --- e-mails ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "email", "valid"),
    [
        ("  Zhang.Wei@QQ.com ", "zhang.wei@qq.com", True),
        ("zhangwei＠163.com", "zhangwei@163.com", True),  # full-width @
        ("wei_zhang+car@sina.com.cn", "wei_zhang+car@sina.com.cn", True),
        ("a@example.com", "a@example.com", False),
        ("someone@test.com", "someone@test.com", False),
        ("test@163.com", "test@163.com", False),
        ("zhangwei@", "zhangwei@", False),
        ("zhangwei.qq.com", "zhangwei.qq.com", False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_email(raw, email, valid):
    result = conform_email(raw)
    assert (result.email, result.is_valid) == (email, valid)


# --- frame --------------------------------------------------------------------------------------


def test_conform_column_maps_distinct_values_back_by_value():
    calls: list[object] = []

    def counting(raw):
        calls.append(raw)
        return conform_phone(raw)

    values = pd.Series(
        ["13800138000", None, "138-0013-8000", "13800138000", float("nan"), "anonymous", "13800138000"],
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    frame = conform_column(values, counting)
    assert list(frame.columns) == ["e164", "kind", "is_valid"]
    assert list(frame.index) == list(values.index)
    assert frame["kind"].tolist() == ["mobile", "empty", "mobile", "mobile", "empty", "empty", "mobile"]
    assert frame["is_valid"].dtype == bool
    assert frame.loc[[10, 12, 13, 16], "e164"].eq("+8613800138000").all()
    assert frame.loc[[11, 14, 15], "e164"].isna().all()
    # once per distinct non-null value, plus one call for None
    assert sorted(map(str, calls)) == sorted(["13800138000", "138-0013-8000", "anonymous", "None"])


def test_conformed_values_once_per_distinct_value_spread_by_row_range():
    values = pd.Series(["13800138000", None, "138-0013-8000", "13800138000", "anonymous", None])
    conformed = conform_values(values, conform_phone)
    # three distinct values and the null result, each conformed once
    assert len(conformed.fields) == 4
    assert conformed.fields["kind"].tolist() == ["mobile", "mobile", "empty", "empty"]
    assert conformed.codes.tolist() == [0, 3, 1, 0, 2, 3]
    part = conformed.rows(2, 5)
    assert list(part.index) == [2, 3, 4]
    pd.testing.assert_frame_equal(part, conform_column(values, conform_phone).iloc[2:5])
    # a column without nulls has no null row to spread
    assert len(conform_values(pd.Series(["13800138000"]), conform_phone).fields) == 1


def test_conform_column_names_and_ids():
    names = conform_column(pd.Series(["张伟", "張偉", None, "王女士"]), conform_name)
    assert names["pinyin_key"].tolist()[:2] == ["zhangwei", "zhangwei"]
    assert names["is_full_name"].tolist() == [True, True, False, False]
    ids = conform_column(pd.Series([MALE_1990, None]), conform_party_id)
    assert ids["birth_date"].tolist()[0] == date(1990, 3, 7)
    assert ids["kind"].tolist() == ["resident_id", "empty"]


def test_conform_column_empty_series():
    frame = conform_column(pd.Series([], dtype=object), conform_vin)
    assert list(frame.columns) == ["vin", "last6", "is_full", "is_valid"]
    assert len(frame) == 0


def test_conform_column_on_worker_processes_equals_one_process(monkeypatch):
    monkeypatch.setattr(frame_module, "PARALLEL_MIN_VALUES", 10)
    monkeypatch.setattr(frame_module, "CHUNK_VALUES", 7)
    names = pd.Series(
        ["张伟", "張偉", None, "王女士", "Zhang Wei", "单丽", "曾国强"] * 3 + [f"李{i}明" for i in range(40)]
    )
    phones = pd.Series([f"138{i:08d}" for i in range(50)] + [None, "anonymous", "021-6288 1234"])
    with worker_pool(2) as pool:
        assert pool is not None
        in_workers = [conform_column(names, conform_name, pool), conform_column(phones, conform_phone, pool)]
    in_process = [conform_column(names, conform_name), conform_column(phones, conform_phone)]
    for parallel, serial in zip(in_workers, in_process, strict=True):
        pd.testing.assert_frame_equal(parallel, serial)
    assert in_workers[1]["e164"].iloc[49] == "+8613800000049"
