"""Person and company names: simplified Han, surname split, a tone-less pinyin key that Han and latin
spellings of the same name share (张伟 / 張偉 / 张 伟 / Zhang Wei / WEI ZHANG / zhangwei -> 'zhangwei')."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

from ._text import EMPTY_TOKENS, has_han, remove_whitespace, to_simplified, to_text

Sex = Literal["M", "F"]
Script = Literal["han", "latin", "empty"]


@dataclass(frozen=True, slots=True)
class NameResult:
    name: str | None
    pinyin_key: str | None
    surname: str | None
    given_name: str | None
    is_full_name: bool
    honorific_sex: Sex | None
    is_company: bool
    script: Script


_EMPTY = NameResult(None, None, None, None, False, None, False, "empty")

# --- tables. pypinyin (0.55) has no surname mode and no surname list, and nothing else installed ships
# one, so the few tables below are written here.

# Common single-character surnames, most frequent first (the order breaks ties in latin names).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫阎段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严"
    "欧莫孔向常汤康易乔赖文施洪辛柯庄凌单翟葛牛齐殷代温章俞季纪柳倪申甘邢祝包左华鲁梅丛麦宁关安岳路卓车"
    "蓝聂涂尚连游宫骆蒲焦穆褚鲍柴童滕房管裴景喻窦饶芦艾寇解仇区查朴盖乐缪召繁员秘冼折句薄卜祭阚隗宓那能"
    "莘宿燕牟蕃种相官花岑权巴苗臧谷隋靳嵇"
)
_COMPOUND_SURNAMES = frozenset(
    (
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "令狐",
        "慕容",
        "长孙",
        "司徒",
        "夏侯",
        "公孙",
        "轩辕",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "万俟",
        "闻人",
        "宇文",
        "申屠",
        "太史",
        "澹台",
        "公冶",
        "宗政",
        "濮阳",
        "淳于",
        "单于",
        "太叔",
        "仲孙",
        "钟离",
        "赫连",
        "呼延",
        "百里",
        "东郭",
        "拓跋",
        "司空",
        "司寇",
        "左丘",
        "公羊",
        "梁丘",
        "乐正",
        "漆雕",
        "巫马",
        "谷梁",
        "第五",
        "羊舌",
        "鲜于",
        "闾丘",
        "段干",
        "完颜",
    )
)
# Surname readings where pypinyin's default reading is the common-word one (单 dan -> shan, 曾 ceng -> zeng).
_SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "覃": "qin",
    "乐": "yue",
    "缪": "miao",
    "翟": "zhai",
    "召": "shao",
    "繁": "po",
    "员": "yun",
    "秘": "bi",
    "折": "she",
    "句": "gou",
    "薄": "bo",
    "卜": "bu",
    "祭": "zhai",
    "阚": "kan",
    "隗": "wei",
    "能": "nai",
    "蕃": "pi",
    "种": "chong",
    "乐正": "yuezheng",
}
# Honorifics after a surname (or after a full name): sex they imply.
_HONORIFICS: dict[str, Sex | None] = {
    "先生": "M",
    "女士": "F",
    "小姐": "F",
    "太太": "F",
    "夫人": "F",
    "阿姨": "F",
    "大姐": "F",
    "大哥": "M",
    "叔叔": "M",
    "老师": None,
    "经理": None,
    "师傅": None,
    "老板": None,
    "老总": None,
    "总监": None,
    "主任": None,
    "董事长": None,
    "医生": None,
    "律师": None,
    "同学": None,
}
_SHORT_HONORIFICS: dict[str, Sex | None] = {
    "总": None,
    "工": None,
    "董": None,
    "哥": "M",
    "姐": "F",
    "叔": "M",
    "姨": "F",
    "伯": "M",
}
_LATIN_HONORIFICS: dict[str, Sex | None] = {
    "mr": "M",
    "mister": "M",
    "sir": "M",
    "mrs": "F",
    "ms": "F",
    "miss": "F",
    "madam": "F",
    "mme": "F",
    "dr": None,
    "prof": None,
}
_PLACEHOLDER_NAMES = frozenset(
    {
        "散客",
        "客户",
        "顾客",
        "匿名",
        "无名",
        "无名氏",
        "测试",
        "某某",
        "车主",
        "司机",
        "待定",
        "未登记",
        "test",
        "xxx",
        "unknown",
        "anonymous",
        "customer",
        "guest",
    }
)
_COMPANY_WORDS = (
    "公司",
    "有限",
    "股份",
    "集团",
    "中心",
    "4S店",
    "专营店",
    "经销",
    "商行",
    "商贸",
    "贸易",
    "物流",
    "科技",
    "实业",
    "合作社",
    "事务所",
    "研究所",
    "研究院",
    "医院",
    "学校",
    "大学",
    "学院",
    "银行",
    "政府",
    "委员会",
    "协会",
    "酒店",
    "车行",
    "车队",
    "部队",
    "办事处",
    "工作室",
    "俱乐部",
    "服务部",
    "经营部",
    "营业部",
    "门市",
    "机关",
    "管理局",
    "管理处",
)
_COMPANY_SUFFIXES = ("厂", "店", "局", "馆")
_LATIN_COMPANY = frozenset(
    {"ltd", "limited", "co", "inc", "corp", "corporation", "company", "llc", "gmbh", "group", "plc"}
)

_HONORIFIC_END = re.compile("(?:" + "|".join(sorted(_HONORIFICS, key=len, reverse=True)) + ")$")
_COMPANY_WORD = re.compile("|".join(map(re.escape, _COMPANY_WORDS)), re.IGNORECASE)
_DOT = re.compile(r"[·•・‧.．]")
_NON_KEY = re.compile(r"[^a-z0-9]")
_LATIN_SPLIT = re.compile(r"[\s,._\-']+")


@lru_cache(maxsize=4096)
def surname_pinyin(surname: str) -> str:
    """Tone-less pinyin of a Han surname in its surname reading (单 -> shan, 尉迟 -> yuchi)."""
    if surname in _SURNAME_READINGS:
        return _SURNAME_READINGS[surname]
    return _key("".join(lazy_pinyin(surname, style=Style.NORMAL)))


def _key(pinyin: str) -> str:
    # pypinyin writes ü as v (lv, nv); u keeps Han and latin spellings (Lu, Lyu) on one key
    return _NON_KEY.sub("", pinyin.lower().replace("v", "u"))


@lru_cache(maxsize=65536)  # given names repeat far more than full names
def _pinyin(text: str) -> str:
    return _key("".join(lazy_pinyin(text, style=Style.NORMAL, errors="default")))


_COMPOUND_RANK = 1000


@lru_cache(maxsize=1)
def _surname_ranks() -> dict[str, int]:
    ranks: dict[str, int] = {}
    for rank, char in enumerate(dict.fromkeys(_SURNAMES)):
        ranks.setdefault(surname_pinyin(char), rank)
    for compound in sorted(_COMPOUND_SURNAMES):
        ranks.setdefault(surname_pinyin(compound), _COMPOUND_RANK)
    return ranks


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every tone-less pinyin syllable, from pypinyin's own dictionary (lv/nv spelled lu/nu and lv/nv)."""
    marked = {reading for readings in pinyin_dict.values() for reading in readings.split(",")}
    out: set[str] = set()
    for reading in marked:
        normal = to_normal(reading)
        out.update((normal, normal.replace("v", "u")))
    return frozenset(s for s in out if s.isalpha() and s.isascii())


def _segment(token: str) -> list[str] | None:
    """'zhangwei' -> ['zhang', 'wei']: fewest pinyin syllables covering the token, or None."""
    syllables = _syllables()
    best: list[list[str] | None] = [None] * (len(token) + 1)
    best[0] = []
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 6), end):
            prev = best[start]
            if prev is not None and token[start:end] in syllables:
                candidate = [*prev, token[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(token)]


def _is_bare_surname(text: str) -> bool:
    return (len(text) == 1 and has_han(text)) or text in _COMPOUND_SURNAMES


def _split_han(text: str) -> tuple[str | None, str]:
    if _DOT.search(text):  # 阿依古丽·买买提: transliterated names carry no surname
        return None, text
    if text[:2] in _COMPOUND_SURNAMES and len(text) > 2:
        return text[:2], text[2:]
    return text[0], text[1:]


def _is_company(text: str) -> bool:
    if _COMPANY_WORD.search(text):
        return True
    return len(text) >= 3 and text.endswith(_COMPANY_SUFFIXES)


def _partial(name: str, surname: str, sex: Sex | None) -> NameResult:
    """A surname with an honorific or a mask (张先生, 老王, 张某, 张*): identifies nobody by itself."""
    return NameResult(name, surname_pinyin(surname), surname, None, False, sex, False, "han")


def _conform_han(text: str) -> NameResult:
    name = _DOT.sub("·", remove_whitespace(to_simplified(text)))
    if _is_company(name):
        return NameResult(name, _pinyin(name) or None, None, None, True, None, True, "han")
    core, sex = name, None
    found = _HONORIFIC_END.search(core)
    if found and found.start() > 0:
        core, sex = core[: found.start()], _HONORIFICS[found.group()]
    if core in _HONORIFICS or core in _SHORT_HONORIFICS:  # a bare 先生
        return NameResult(name, None, None, None, False, _HONORIFICS.get(core), False, "han")
    if _is_bare_surname(core):
        return _partial(name, core, sex)
    if core[-1] in _SHORT_HONORIFICS and _is_bare_surname(core[:-1]) and core == name:
        return _partial(name, core[:-1], _SHORT_HONORIFICS[core[-1]])
    if len(core) == 2 and core[0] in "老小" and core == name:
        return _partial(name, core[1], None)
    if "某" in core or "*" in core or "X" in core.upper():  # 张某, 张**, 张X: masked
        surname = _split_han(core)[0]
        return _partial(name, surname, sex) if surname and has_han(surname) else _EMPTY
    surname, given = _split_han(core)
    key = (surname_pinyin(surname) if surname else "") + _pinyin(given)
    return NameResult(core, key or None, surname, given or None, bool(given), sex, False, "han")


def _latin_tokens(text: str) -> tuple[list[str], list[str]]:
    """(normalised lower-case tokens, original tokens); diacritics dropped, Lyu/Nyu -> lu/nu."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    originals = [t for t in _LATIN_SPLIT.split(ascii_text) if t]
    tokens = []
    for token in originals:
        low = token.lower().replace("lyu", "lu").replace("nyu", "nu")
        if "v" in low and _segment(low):
            low = low.replace("v", "u")
        tokens.append(_NON_KEY.sub("", low))
    return tokens, originals


def _pick_surname(tokens: list[str], originals: list[str], surname_first: bool) -> int | None:
    """Index (0 or last) of the surname token: comma order, then the one ALL-CAPS token, then the more
    common Chinese surname (so Zhang Wei and WEI ZHANG agree), else None."""
    last = len(tokens) - 1
    if surname_first:
        return 0
    caps = [i for i in (0, last) if originals[i].isupper() and len(originals[i]) > 1]
    if len(caps) == 1 and not all(o.isupper() for o in originals):
        return caps[0]
    ranks = _surname_ranks()
    first, final = ranks.get(tokens[0]), ranks.get(tokens[last])
    if first is None and final is None:
        return None
    if final is None or (first is not None and first <= final):
        return 0
    return last


def _conform_latin(text: str) -> NameResult:
    tokens, originals = _latin_tokens(text)
    pairs = [(t, o) for t, o in zip(tokens, originals, strict=True) if t]
    if any(t in _LATIN_COMPANY for t, _ in pairs):
        name = " ".join(text.split())
        return NameResult(name, "".join(t for t, _ in pairs) or None, None, None, True, None, True, "latin")
    sex: Sex | None = None
    while pairs and pairs[0][0] in _LATIN_HONORIFICS:
        sex = _LATIN_HONORIFICS[pairs.pop(0)[0]]
    if not pairs:
        return _EMPTY
    tokens = [t for t, _ in pairs]
    originals = [o for _, o in pairs]
    ranks = _surname_ranks()
    if len(tokens) == 1:
        token = tokens[0]
        if token in ranks:  # "Mr Zhang": a surname only
            return NameResult(token.title(), token, token.title(), None, False, sex, False, "latin")
        syllables = _segment(token)
        if syllables and 2 <= len(syllables) <= 4:  # unsplit "zhangwei"
            tokens = list(syllables)
            if len(tokens) > 2 and ranks.get("".join(tokens[:2])) == _COMPOUND_RANK:  # ouyangxiu
                tokens = ["".join(tokens[:2]), *tokens[2:]]
            elif len(tokens) > 2 and ranks.get("".join(tokens[-2:])) == _COMPOUND_RANK:  # xiuouyang
                tokens = [*tokens[:-2], "".join(tokens[-2:])]
            originals = tokens
        else:
            return NameResult(token.title(), token, None, None, False, sex, False, "latin")
        joined = True
    else:
        joined = False
    index = _pick_surname(tokens, originals, surname_first="," in text and not joined)
    if index is None:
        surname, given = None, tokens
    else:
        surname, given = tokens[index], tokens[1:] if index == 0 else tokens[:-1]
    key = (surname or "") + "".join(given)
    if joined:
        given = ["".join(given)]
    display = " ".join(t.title() for t in ([surname] if surname else []) + given)
    return NameResult(
        display,
        key or None,
        surname.title() if surname else None,
        " ".join(g.title() for g in given) or None,
        True,
        sex,
        False,
        "latin",
    )


def conform_name(raw: str | None) -> NameResult:
    text = to_text(raw)
    if text is None or text.lower() in EMPTY_TOKENS or text.lower() in _PLACEHOLDER_NAMES:
        return _EMPTY
    if has_han(text):
        if remove_whitespace(to_simplified(text)) in _PLACEHOLDER_NAMES:
            return _EMPTY
        return _conform_han(text)
    if any(c.isalpha() for c in text):
        return _conform_latin(text)
    return _EMPTY
