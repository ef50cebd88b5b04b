"""PII detection: propose a classification for a column from its header and a value sample.

``PiiClassifier`` implements ``hub.classification.Classifier`` (entry point ``pii`` in the
``trustlab.classifiers`` group). Detection is value-based: each detector reuses a validator
from ``sandbox.validators`` (GB 11643 check digit, Luhn, formats), so a value counts only if
it *validates*, not if it merely has the right length. Header hints, in Chinese and English,
lower the bar; a hint the values contradict still yields a low-confidence proposal of the
hinted type, because a false positive costs a masking rule while a false negative leaks data.

The module reads top to bottom:

1. thresholds and vocabulary (surnames, address markers);
2. value predicates, one per PII type, and ``DETECTORS``, the table ordered by specificity;
3. header hints (``header_hints``);
4. ``PiiClassifier``: a chain of rules that turn value fractions and hints into a ``Proposal``.

Evidence strings quote counts and type names only, never a sampled value nor the header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice

from hub.classification import ColumnProfile, Level, Proposal
from sandbox.validators import (
    find_identifiers,
    is_bank_card,
    is_email,
    is_mobile,
    is_plate,
    is_resident_id,
    normalize_digits,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "DETECTORS",
    "HIGH_FRACTION",
    "HINTED_FRACTION",
    "MIXED_FRACTION",
    "SURNAMES",
    "Detector",
    "HeaderHints",
    "PiiClassifier",
    "detect_value",
    "embedded_pii",
    "header_hints",
    "is_chinese_address",
    "is_chinese_name",
    "parse_date",
    "split_chinese_name",
]

# 1. Thresholds and vocabulary ---------------------------------------------------------

HIGH_FRACTION = 0.8  # of non-null values: proposes the type whatever the header says
HINTED_FRACTION = 0.3  # enough when the header hints the type
MIXED_FRACTION = 0.5  # enough for validator-backed types (check digits, strict formats) alone
MIN_DISTINCT = 10  # soft shapes (names, addresses) need variety to count without a hint
TEXT_FRACTION = 0.3  # share of text-like values that makes a column free text
MAX_SAMPLE = 10_000  # values looked at per column, whatever the caller passes

LEVELS: dict[str, Level] = {
    "id_card": Level.L4,
    "bank_card": Level.L4,
    "mobile": Level.L3,
    "name": Level.L3,
    "address": Level.L3,
    "email": Level.L3,
    "plate": Level.L3,
    "birth_date": Level.L3,
    "free_text": Level.L3,
    "none": Level.L1,
}
_STRONG_EMBEDDED = frozenset({"id_card", "bank_card"})  # free text embedding these is L4

# Common single-character surnames (roughly the 300 most frequent) and compound surnames.
SURNAMES: frozenset[str] = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜"
    "叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫阎段雷龙黎"
    "史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施洪辛柳牛樊葛齐殷庞颜倪祝聂安申伍"
    "翟耿关兰焦俞左柴甘祁温包鲁单季褚卜费凌霍涂牟虞纪宁毕舒童符骆隋岳管时卫鲍苗尚查丛滕裴"
    "邢项詹谷缪路艾蓝房解农吉盛车麦戚阮柯曲古宗沙喻巫明游窦景梅桂屈章佟冉邬晏闵连娄茅鞠储"
    "米全栾刁宫臧寇郁幸谈宣仲穆成邸蒲荣官尤芦乐伊丰商应厉井郎湛桑饶帅匡权索计楚亓卞冷池岑"
    "杭惠巩钮苑扈边揭佘狄雍姬芮党银旷禹粟敖蔺战滑怀迟谌薄燕慕卓邝阚晋畅贝仇简鄢丘阳朴蒙祖"
    "訾强华庄靳皮鹿荆廉况闻习甄封师隆麻戈郜钭冀甫綦"
)
COMPOUND_SURNAMES: frozenset[str] = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 "
    "独孤 南宫 西门 百里 呼延 澹台 太史 申屠 闻人 万俟 钟离 赫连 濮阳 公羊 第五 司空 "
    "淳于 单于 拓跋 东郭 左丘 梁丘 公冶 宗政 仲孙 叔孙 乐正 漆雕 巫马 鲜于 闾丘 亓官 "
    "司寇 颛孙 段干 谷梁 公良 壤驷".split()
)
# Last characters that make a surname-initial word a place or an organisation, not a person.
_NOT_NAME_ENDINGS = frozenset(
    "区县市省州镇乡村路街巷道号楼室院局所厂店司部处科队站馆校园场厅委会社行组团"
)

_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_HAN_WORD = re.compile(rf"[{_HAN}]+")
_HAN_CHAR = re.compile(rf"[{_HAN}]")

# Address markers by administrative depth: an address names them from coarse to fine.
_ADDRESS_LEVELS: dict[str, int] = {
    **dict.fromkeys(("特别行政区", "自治区", "省"), 0),
    **dict.fromkeys(("自治州", "地区", "市", "盟"), 1),
    **dict.fromkeys(("自治县", "区", "县", "旗"), 2),
    **dict.fromkeys(("街道", "镇", "乡"), 3),
    **dict.fromkeys(("大道", "胡同", "路", "街", "巷", "弄"), 4),
    **dict.fromkeys(("社区", "小区", "村", "组"), 5),
    "号": 6,
    **dict.fromkeys(("栋", "幢", "座", "楼"), 7),
    "单元": 8,
    "层": 9,
    "室": 10,
}
_ADDRESS_MARKER = re.compile("|".join(sorted(_ADDRESS_LEVELS, key=len, reverse=True)))
_BELOW_COUNTY = 3  # an address names at least a township, street, village or number
_SENTENCE_PUNCT = re.compile(r"[，。！？；!?;@]")
_STREET_WORDS = frozenset(
    "street st road rd avenue ave lane ln boulevard blvd drive dr way court ct place pl square "
    "sq highway hwy alley apt apartment suite unit room floor building bldg block no".split()
)

# 2. Value predicates and the detector table -------------------------------------------


def split_chinese_name(s: str) -> tuple[str, str] | None:
    """``(surname, given name)`` for 2-4 Han characters starting with a known surname.

    Compound surnames win when at least one character is left for the given name.
    Structural only: ``is_chinese_name`` also rejects place and organisation words.
    """
    text = s.strip()
    if not 2 <= len(text) <= 4 or not _HAN_WORD.fullmatch(text):
        return None
    if len(text) >= 3 and text[:2] in COMPOUND_SURNAMES:
        return text[:2], text[2:]
    if text[0] in SURNAMES:
        return text[0], text[1:]
    return None


def is_chinese_name(value: str) -> bool:
    """A Chinese personal name: known surname, 2-4 Han characters, not a place or an office."""
    return split_chinese_name(value) is not None and value.strip()[-1] not in _NOT_NAME_ENDINGS


_WESTERN_NAME = re.compile(r"[A-Z][A-Za-z'\-]*\.?(?: [A-Z][A-Za-z'\-]*\.?){1,2}")
_ETHNIC_NAME = re.compile(rf"[{_HAN}]{{1,8}}(?:[·•．][{_HAN}]{{1,8}})+")  # 阿依古丽·买买提


def _is_any_name(value: str) -> bool:
    """Chinese, minority (dot-separated) or Western (2-3 capitalised words) names."""
    text = value.strip()
    return (
        is_chinese_name(text)
        or _ETHNIC_NAME.fullmatch(text) is not None
        or (len(text) <= 40 and _WESTERN_NAME.fullmatch(text) is not None)
    )


def _longest_ordered_run(levels: list[int]) -> int:
    """Length of the longest non-decreasing subsequence (a handful of markers: O(n²))."""
    best: list[int] = []
    for i, level in enumerate(levels):
        best.append(1 + max((best[j] for j in range(i) if levels[j] <= level), default=0))
    return max(best, default=0)


def is_chinese_address(value: str) -> bool:
    """Administrative markers in coarse-to-fine order, down to street level, 5-80 characters."""
    text = value.strip()
    if not 5 <= len(text) <= 80 or _SENTENCE_PUNCT.search(text):
        return False
    if len(_HAN_CHAR.findall(text)) < 4:
        return False
    levels = [_ADDRESS_LEVELS[m.group()] for m in _ADDRESS_MARKER.finditer(text)]
    if not any(level >= _BELOW_COUNTY for level in levels):
        return False
    ordered = _longest_ordered_run(levels)
    return ordered >= 3 or (ordered >= 2 and any(ch.isdigit() for ch in text))


def _is_english_address(value: str) -> bool:
    words = re.findall(r"[a-z]+", value.lower())
    return (
        6 <= len(value) <= 120
        and len(words) >= 2
        and any(ch.isdigit() for ch in value)
        and any(word in _STREET_WORDS for word in words)
    )


def _is_any_address(value: str) -> bool:
    return is_chinese_address(value) or _is_english_address(value)


_DATE_FORMATS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
# What a date or timestamp column renders after the date: a time and an optional zone.
_TIME_SUFFIX = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_EARLIEST_BIRTH = date(1900, 1, 1)


def parse_date(value: str) -> date | None:
    """A calendar date in ``value`` (ISO-like, slashes, dots, ``YYYYMMDD``, ``YYYY年M月D日``).

    A trailing time of day is accepted, as rendered from date and timestamp columns.
    """
    text = value.strip()
    for pattern in _DATE_FORMATS:
        m = pattern.match(text)
        if m and _TIME_SUFFIX.fullmatch(text, m.end()):
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def _is_birth_date(value: str) -> bool:
    born = parse_date(value)
    return born is not None and _EARLIEST_BIRTH <= born <= date.today()


def _is_card(value: str) -> bool:
    """Luhn-valid 16-19 digits (UnionPay lengths, as ``find_identifiers`` requires)."""
    return is_bank_card(value) and len(normalize_digits(value)) >= 16


@dataclass(frozen=True)
class Detector:
    """One PII type's value test.

    ``strict`` proposes the type from values alone (``None``: never without a header
    hint); ``hinted`` is the broader test used once the header hints the type. ``soft``
    shapes (names, addresses) have no check digit, so they also need varied values.
    """

    pii_type: str
    evidence: str  # completes "N/M non-null sampled values ..."
    strict: Callable[[str], bool] | None
    hinted: Callable[[str], bool] | None = None
    soft: bool = False

    def test(self, hinted: bool) -> Callable[[str], bool] | None:
        return (self.hinted or self.strict) if hinted else self.strict


# Ordered by specificity: an 18-digit ID can pass Luhn by chance, a mobile is no card.
DETECTORS: tuple[Detector, ...] = (
    Detector("id_card", "pass the GB 11643 check digit", is_resident_id),
    Detector("mobile", "are mainland mobile numbers", is_mobile),
    Detector("email", "are email addresses", is_email),
    Detector("plate", "are licence plates (GA 36)", is_plate),
    Detector("bank_card", "pass the Luhn check with 16-19 digits", _is_card),
    Detector("name", "look like personal names", is_chinese_name, _is_any_name, soft=True),
    Detector("address", "look like addresses", is_chinese_address, _is_any_address, soft=True),
    Detector("birth_date", "parse as plausible birth dates", None, _is_birth_date),
)

# A name introduced by a label inside free text: 姓名：张三, 联系人李四.
_LABELLED_NAME = re.compile(
    rf"(?:姓名|联系人|患者|户主|收件人|收货人|申请人|持卡人)[:：]?\s*([{_HAN}]{{2,4}})(?![{_HAN}])"
)


def embedded_pii(text: str) -> set[str]:
    """PII types embedded in ``text``: validated identifiers, plus labelled Chinese names."""
    kinds = set(find_identifiers(text))
    if any(is_chinese_name(m[1]) for m in _LABELLED_NAME.finditer(text)):
        kinds.add("name")
    return kinds


def detect_value(value: str) -> str | None:
    """The PII type a single cell validates as, or ``"free_text"`` if it embeds PII.

    Types that need a header hint (birth dates, Western names, English addresses) are not
    reported; names and addresses are shape matches, so callers should aggregate.
    """
    text = value.strip()
    if not text:
        return None
    for detector in DETECTORS:
        if detector.strict is not None and detector.strict(text):
            return detector.pii_type
    return "free_text" if embedded_pii(text) else None


def _is_text(value: str) -> bool:
    """Prose rather than a code: some Han characters, or several words."""
    return len(_HAN_CHAR.findall(value)) >= 2 or len(re.findall(r"[A-Za-z]{2,}", value)) >= 3


# 3. Header hints ------------------------------------------------------------------------

QUASI = "quasi"  # header kinds besides PII types
BUSINESS = "business"
IGNORE = ""  # consumes its words so that they hint nothing

# Chinese keywords, found as substrings, longest first; a match consumes its characters so
# that 出生地 (birthplace) does not also read as 出生 (birth).
_CN_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(("身份证", "证件号", "公民身份号码", "身份号码"), "id_card"),
    **dict.fromkeys(("手机", "电话", "移动电话", "联系方式"), "mobile"),
    **dict.fromkeys(
        ("姓名", "名字", "联系人", "户主", "持卡人", "收件人", "收货人", "开户人", "监护人"),
        "name",
    ),
    **dict.fromkeys(("地址", "住址", "户籍地", "居住地", "住所"), "address"),
    **dict.fromkeys(("邮箱", "电子邮件", "电子邮箱", "邮件", "邮件地址", "邮箱地址"), "email"),
    **dict.fromkeys(("银行卡", "卡号", "账号", "帐号", "银行账户"), "bank_card"),
    **dict.fromkeys(("车牌", "号牌"), "plate"),
    **dict.fromkeys(("出生日期", "出生年月", "生日", "出生"), "birth_date"),
    **dict.fromkeys(("备注", "说明", "描述", "留言", "评论", "反馈", "详情"), "free_text"),
    **dict.fromkeys(
        (
            *("区县", "县区", "行政区", "辖区", "城市", "地市", "省份", "省", "性别", "年龄"),
            *("出生年份", "出生年", "出生地", "籍贯", "邮编", "邮政编码", "民族", "职业"),
            *("学历", "婚姻"),
        ),
        QUASI,
    ),
    **dict.fromkeys(
        (
            *("收入", "工资", "薪资", "薪酬", "金额", "余额", "存款", "贷款", "负债", "资产"),
            *("税", "诊断", "病", "症状", "药", "医保", "治疗", "费用", "价格"),
        ),
        BUSINESS,
    ),
    **dict.fromkeys(("登录账号", "用户账号", "微信账号", "手机型号", "手机品牌"), IGNORE),
}
_CN_ORDER = sorted(_CN_KEYWORDS, key=len, reverse=True)


def _phrases(kind: str, *phrases: str) -> dict[tuple[str, ...], str]:
    return {tuple(phrase.split()): kind for phrase in phrases}


# English (and pinyin-initial) phrases over header tokens, matched longest first.
_EN_PHRASES: dict[tuple[str, ...], str] = {
    **_phrases(
        "id_card",
        *("id card", "idcard", "id no", "idno", "id number", "id num", "resident id"),
        *("national id", "citizen id", "identity card", "identity no", "identity number"),
        *("sfz", "sfzh", "sfzhm", "zjhm"),
    ),
    **_phrases(
        "mobile",
        *("mobile", "phone", "tel", "telephone", "cell", "cellphone", "mobilephone"),
        *("contact number", "sjhm", "lxdh"),
    ),
    **_phrases(
        "name",
        *("fullname", "firstname", "lastname", "givenname", "familyname", "surname"),
        *("realname", "personname", "customername", "custname", "contactname"),
    ),
    **_phrases("address", "address", "addr", "domicile", "residence", "jtzz"),
    **_phrases("email", "email", "mail", "e mail", "email address", "mail address", "mailbox"),
    **_phrases(
        "bank_card",
        *("bank card", "bankcard", "card no", "cardno", "card number", "card num"),
        *("account", "account no", "account number", "acct", "acct no", "bank account", "yhkh"),
    ),
    **_phrases(
        "plate",
        *("plate", "license plate", "licence plate", "plate no", "plate number", "car plate"),
        "vehicle plate",
    ),
    **_phrases(
        "birth_date", "birth", "birthday", "birthdate", "dob", "date of birth", "birth date", "csrq"
    ),
    **_phrases(
        "free_text",
        *("remark", "remarks", "note", "notes", "comment", "comments", "description"),
        *("desc", "memo", "free text"),
    ),
    **_phrases(
        QUASI,
        *("district", "county", "city", "province", "prefecture", "region", "gender", "sex"),
        *("age", "zip", "zipcode", "zip code", "postcode", "postal code", "postal"),
        *("ethnicity", "ethnic", "race", "nationality", "occupation", "profession"),
        *("education", "marital", "yob", "birth year", "year of birth", "birth month"),
        *("birth place", "birthplace"),
    ),
    **_phrases(
        BUSINESS,
        *("income", "salary", "wage", "wages", "payroll", "amount", "amt", "balance", "price"),
        *("cost", "fee", "revenue", "loan", "debt", "credit", "asset", "assets", "tax"),
        *("deposit", "diagnosis", "disease", "illness", "icd", "symptom", "symptoms"),
        *("medication", "drug", "prescription", "medical", "health", "insurance"),
        "treatment",
    ),
    **_phrases(
        IGNORE,
        *("ip address", "mac address", "web address", "user account", "login account"),
    ),
}
_LONGEST_PHRASE = max(map(len, _EN_PHRASES))
# "name" means a person's name alone or after one of these; district_name does not.
_NAME_QUALIFIERS = frozenset(
    "full first last given family middle person personal real legal customer cust client "
    "contact patient applicant owner holder cardholder member employee emp staff student "
    "teacher doctor driver passenger buyer receiver recipient consignee sender guardian "
    "parent father mother spouse resident citizen insured beneficiary".split()
)
# Tokens that may follow a PII word without changing what the column holds (phone_no,
# address_line, name_cn); any other trailing word makes it a modifier (account_balance).
_TRAILING_OK = frozenset(
    "no num number nbr nr code value val text txt str string raw line cn zh en chs pinyin "
    "info data full masked plain primary main home work office personal private alt other "
    "current new old".split()
)
# camelCase, ACRONYMCase, snake_case, kebab-case, spaces, digits.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@dataclass(frozen=True)
class HeaderHints:
    """What a column header suggests. ``types`` lists hinted PII types, head noun first."""

    types: tuple[str, ...] = ()
    quasi: bool = False
    business: bool = False

    @property
    def primary(self) -> str | None:
        """The hinted type to fall back on, ignoring free text (which needs evidence)."""
        return next((t for t in self.types if t != "free_text"), None)


def _cn_hints(header: str) -> Iterator[tuple[int, str]]:
    """``(end position, kind)`` for Chinese keywords, each character used at most once."""
    taken = [False] * len(header)
    for keyword in _CN_ORDER:
        start = header.find(keyword)
        while start != -1:
            end = start + len(keyword)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(keyword)
                yield end, _CN_KEYWORDS[keyword]
            start = header.find(keyword, start + 1)


def _phrase_at(tokens: list[str], i: int) -> tuple[int, str | None]:
    for size in range(min(_LONGEST_PHRASE, len(tokens) - i), 0, -1):
        kind = _EN_PHRASES.get(tuple(tokens[i : i + size]))
        if kind is not None:
            return size, kind
    if tokens[i] == "name" and (i == 0 or tokens[i - 1] in _NAME_QUALIFIERS):
        return 1, "name"
    return 1, None


def _en_hints(header: str) -> Iterator[tuple[int, str]]:
    """``(end position, kind)`` for English phrases; PII words must head the header."""
    words = list(_WORD.finditer(header))
    tokens = [w.group().lower() for w in words]
    i = 0
    while i < len(tokens):
        size, kind = _phrase_at(tokens, i)
        end = i + size
        trailing_ok = all(t in _TRAILING_OK or t.isdigit() for t in tokens[end:])
        if kind is not None and (kind not in LEVELS or trailing_ok):
            yield words[end - 1].end(), kind
        i = end


def header_hints(header: str) -> HeaderHints:
    """Tokenize a column header and read the PII, quasi-identifier and business hints in it."""
    found = sorted([*_cn_hints(header), *_en_hints(header)], reverse=True)
    kinds = {kind for _, kind in found}
    types = tuple(dict.fromkeys(kind for _, kind in found if kind in LEVELS))
    return HeaderHints(types, QUASI in kinds, BUSINESS in kinds)


# 4. The classifier ---------------------------------------------------------------------

_NULLS = frozenset({"", "null", "none", "nan", "n/a", "na", "nil", "-", "--", "无", "空"})
_TEXT_TYPES = frozenset({"string", "other"})


@dataclass(frozen=True)
class _Sample:
    data_type: str
    values: tuple[str, ...]  # non-null, stripped
    nulls: int

    @classmethod
    def of(cls, column: ColumnProfile) -> _Sample:
        raw = list(islice(column.values, MAX_SAMPLE))
        values = tuple(
            text
            for text in (str(v).strip() for v in raw if v is not None)
            if text.lower() not in _NULLS
        )
        return cls(column.data_type, values, len(raw) - len(values))

    @property
    def total(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class _Match:
    detector: Detector
    hinted: bool
    hits: int
    distinct: int
    total: int

    @classmethod
    def of(cls, detector: Detector, sample: _Sample, hinted: bool) -> _Match:
        test = detector.test(hinted)
        passing = [v for v in sample.values if test(v)] if test else []
        return cls(detector, hinted, len(passing), len(set(passing)), sample.total)

    @property
    def fraction(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def varied(self) -> bool:
        """Soft shapes need distinct values, else they are a category (高中, 农民)."""
        if not self.detector.soft or self.hinted:
            return True
        return self.distinct >= min(MIN_DISTINCT, max(2, self.total // 2))

    def counts(self) -> str:
        return f"{self.hits}/{self.total} non-null sampled values {self.detector.evidence}"


def _hint_note(pii_type: str, hints: HeaderHints) -> str:
    return f"; header hints {pii_type}" if pii_type in hints.types else ""


def _proposal(
    pii_type: str, hints: HeaderHints, confidence: float, evidence: str, level: Level | None = None
) -> Proposal:
    return Proposal(
        pii_type=pii_type,
        level=level or LEVELS[pii_type],
        quasi_identifier=hints.quasi or pii_type == "birth_date",
        confidence=round(min(confidence, 0.99), 2),
        evidence=evidence,
    )


def _from_match(m: _Match, hints: HeaderHints, confidence: float) -> Proposal:
    pii_type = m.detector.pii_type
    return _proposal(pii_type, hints, confidence, m.counts() + _hint_note(pii_type, hints))


Rule = Callable[[_Sample, HeaderHints, list[_Match]], Proposal | None]


def _by_values(sample: _Sample, hints: HeaderHints, matches: list[_Match]) -> Proposal | None:
    """Most values validate; or a hinted type is moderately present; or a checked type is."""
    for m in matches:
        if m.fraction >= HIGH_FRACTION and m.varied:
            return _from_match(m, hints, 0.55 + 0.4 * m.fraction + 0.04 * m.hinted)
    for m in matches:
        if m.hinted and m.fraction >= HINTED_FRACTION:
            return _from_match(m, hints, 0.45 + 0.4 * m.fraction)
    for m in matches:
        if not m.detector.soft and m.fraction >= MIXED_FRACTION:
            return _from_match(m, hints, 0.35 + 0.4 * m.fraction)
    return None


def _by_embedded(sample: _Sample, hints: HeaderHints, matches: list[_Match]) -> Proposal | None:
    """Text columns where some rows embed identifiers (even one row in the sample)."""
    if sample.data_type not in _TEXT_TYPES or not sample.values:
        return None
    if sum(map(_is_text, sample.values)) < TEXT_FRACTION * sample.total:
        return None
    rows = [kinds for kinds in map(embedded_pii, sample.values) if kinds]
    if not rows:
        return None
    kinds = set().union(*rows)
    level = Level.L4 if kinds & _STRONG_EMBEDDED else Level.L3
    evidence = (
        f"{len(rows)}/{sample.total} non-null sampled text values embed identifiers "
        f"({', '.join(sorted(kinds))}){_hint_note('free_text', hints)}"
    )
    confidence = 0.55 + min(0.3, 0.05 * len(rows)) + 0.05 * ("free_text" in hints.types)
    return _proposal("free_text", hints, confidence, evidence, level)


def _no_match(sample: _Sample) -> str:
    if sample.values:
        return f"none of {sample.total} non-null sampled values matches a PII detector"
    if sample.nulls:
        return f"all {sample.nulls} sampled values are null or empty"
    return "no sampled values"


def _by_header(sample: _Sample, hints: HeaderHints, matches: list[_Match]) -> Proposal | None:
    """The header hints a type the values do not show: propose it anyway, cautiously."""
    pii_type = hints.primary
    if pii_type is None:
        return None
    if not sample.values:
        detail = _no_match(sample)
        return _proposal(pii_type, hints, 0.3, f"header hints {pii_type}; header only: {detail}")
    m = next(m for m in matches if m.detector.pii_type == pii_type)
    return _proposal(pii_type, hints, 0.2, f"header hints {pii_type}; header only: {m.counts()}")


def _nothing(sample: _Sample, hints: HeaderHints, matches: list[_Match]) -> Proposal:
    """No PII: L1, or L2 for business/financial/health data and free text."""
    best = max(matches, key=lambda m: m.fraction)
    if best.hits:
        notes = [f"no PII type reaches its threshold in {sample.total} non-null sampled values"]
        notes.append(f"best {best.detector.pii_type} {best.hits}/{best.total}")
    else:
        notes = [_no_match(sample)]
    confidence = 0.95 - 0.5 * best.fraction if sample.values else 0.5
    dates = sum(parse_date(v) is not None for v in sample.values)
    if sample.values and dates >= HIGH_FRACTION * sample.total:
        notes.append("values are dates but the header does not suggest a birth date")
    if "free_text" in hints.types:
        notes.append("header suggests free text")
    if hints.quasi:
        notes.append("header suggests a quasi-identifier")
    if hints.business:
        notes.append("header suggests business, financial or health data")
    internal = hints.business or "free_text" in hints.types
    level = Level.L2 if internal else Level.L1
    return _proposal("none", hints, confidence, "; ".join(notes), level)


_RULES: tuple[Rule, ...] = (_by_values, _by_embedded, _by_header)


class PiiClassifier:
    """Proposes a PII classification for a column (``hub.classification.Classifier``)."""

    def propose(self, column: ColumnProfile) -> Proposal:
        sample = _Sample.of(column)
        hints = header_hints(column.name)
        matches = [_Match.of(d, sample, d.pii_type in hints.types) for d in DETECTORS]
        for rule in _RULES:
            proposal = rule(sample, hints, matches)
            if proposal is not None:
                return proposal
        return _sensitive(column, _nothing(sample, hints, matches))


def _sensitive(column: ColumnProfile, proposal: Proposal) -> Proposal:
    """PIPL sensitive categories (health, religion, tracks ...) are L3 at least."""
    from dataclasses import replace

    from sandbox.sensitive import sensitive_category

    found = sensitive_category(column.name, list(islice(column.values, MAX_SAMPLE)))
    if found is None:
        return proposal
    _, evidence = found
    return replace(
        proposal, level=max(proposal.level, Level.L3), evidence=f"{proposal.evidence}; {evidence}"
    )
