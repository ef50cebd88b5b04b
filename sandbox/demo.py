"""Deterministic synthetic population of Chinese residents, for demos and tests.

Every identifier is *valid*, not merely well-shaped: resident ID numbers carry real county
codes and GB 11643 check characters, bank cards pass Luhn, mobiles use issued prefixes and
plates follow GA 36. The unit tests check every value with :mod:`sandbox.validators`, so
the PII detector and the leak gate recognise exactly what this module produces. About 30%
of the free-text remarks embed one of the row's own identifiers, which is what
desensitization must catch.

The same ``(rows, seed)`` always yields a byte-identical file: only a private
``random.Random(seed)`` is used, never the global generator or the clock.
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
from bisect import bisect
from collections.abc import Callable
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from sandbox.validators import id_check_char, luhn_check_digit

PEOPLE_COLUMNS: tuple[str, ...] = (
    "person_id",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "mobile",
    "email",
    "bank_card",
    "address",
    "district",
    "plate",
    "income",
    "remark",
)

PROGRESS_EVERY = 10_000

# County-level division codes (GB/T 2260): code -> (province, city, district).
REGIONS: dict[str, tuple[str, str, str]] = {
    "110101": ("北京市", "北京市", "东城区"),
    "110102": ("北京市", "北京市", "西城区"),
    "110105": ("北京市", "北京市", "朝阳区"),
    "110106": ("北京市", "北京市", "丰台区"),
    "110108": ("北京市", "北京市", "海淀区"),
    "120101": ("天津市", "天津市", "和平区"),
    "120104": ("天津市", "天津市", "南开区"),
    "310101": ("上海市", "上海市", "黄浦区"),
    "310104": ("上海市", "上海市", "徐汇区"),
    "310105": ("上海市", "上海市", "长宁区"),
    "310112": ("上海市", "上海市", "闵行区"),
    "310115": ("上海市", "上海市", "浦东新区"),
    "320102": ("江苏省", "南京市", "玄武区"),
    "320106": ("江苏省", "南京市", "鼓楼区"),
    "320505": ("江苏省", "苏州市", "虎丘区"),
    "320508": ("江苏省", "苏州市", "姑苏区"),
    "330102": ("浙江省", "杭州市", "上城区"),
    "330106": ("浙江省", "杭州市", "西湖区"),
    "330108": ("浙江省", "杭州市", "滨江区"),
    "330203": ("浙江省", "宁波市", "海曙区"),
    "350102": ("福建省", "福州市", "鼓楼区"),
    "350203": ("福建省", "厦门市", "思明区"),
    "370102": ("山东省", "济南市", "历下区"),
    "370202": ("山东省", "青岛市", "市南区"),
    "420102": ("湖北省", "武汉市", "江岸区"),
    "420106": ("湖北省", "武汉市", "武昌区"),
    "420111": ("湖北省", "武汉市", "洪山区"),
    "430102": ("湖南省", "长沙市", "芙蓉区"),
    "430104": ("湖南省", "长沙市", "岳麓区"),
    "440103": ("广东省", "广州市", "荔湾区"),
    "440104": ("广东省", "广州市", "越秀区"),
    "440106": ("广东省", "广州市", "天河区"),
    "440303": ("广东省", "深圳市", "罗湖区"),
    "440304": ("广东省", "深圳市", "福田区"),
    "440305": ("广东省", "深圳市", "南山区"),
    "500103": ("重庆市", "重庆市", "渝中区"),
    "500106": ("重庆市", "重庆市", "沙坪坝区"),
    "510104": ("四川省", "成都市", "锦江区"),
    "510105": ("四川省", "成都市", "青羊区"),
    "510107": ("四川省", "成都市", "武侯区"),
    "610103": ("陕西省", "西安市", "碑林区"),
    "610113": ("陕西省", "西安市", "雁塔区"),
}


class _City(NamedTuple):
    plate: str  # province abbreviation on licence plates
    letters: str  # issuing-authority letters used in the city
    median_income: int  # yuan per year


_CITIES: dict[str, _City] = {
    "北京市": _City("京", "ABCEFGHJKLMNPQ", 98_000),
    "天津市": _City("津", "ABCDEFGHJKLMN", 62_000),
    "上海市": _City("沪", "ABCDEFGHJKLMN", 96_000),
    "南京市": _City("苏", "A", 72_000),
    "苏州市": _City("苏", "EU", 70_000),
    "杭州市": _City("浙", "A", 76_000),
    "宁波市": _City("浙", "B", 68_000),
    "福州市": _City("闽", "A", 56_000),
    "厦门市": _City("闽", "D", 64_000),
    "济南市": _City("鲁", "A", 54_000),
    "青岛市": _City("鲁", "BU", 60_000),
    "武汉市": _City("鄂", "A", 58_000),
    "长沙市": _City("湘", "A", 60_000),
    "广州市": _City("粤", "A", 80_000),
    "深圳市": _City("粤", "B", 92_000),
    "重庆市": _City("渝", "ABCDFGH", 46_000),
    "成都市": _City("川", "AG", 54_000),
    "西安市": _City("陕", "AU", 50_000),
}
# Districts that pay noticeably more than their city's median.
_DISTRICT_INCOME_FACTOR = {"海淀区": 1.25, "浦东新区": 1.2, "南山区": 1.3, "滨江区": 1.2}

_REGION_CODES = tuple(REGIONS)
_MOVED_AWAY = 0.15  # share of people whose address is not in their ID's region


def _split_pinyin(entries: str) -> tuple[tuple[str, str], ...]:
    """``"王wang 欧阳ouyang"`` -> ``(("王", "wang"), ("欧阳", "ouyang"))``."""
    pairs = []
    for entry in entries.split():
        cut = next(i for i, ch in enumerate(entry) if ch.isascii())
        pairs.append((entry[:cut], entry[cut:]))
    return tuple(pairs)


# Common surnames, most frequent first; weights fall off roughly like the census ranks.
_COMMON_SURNAMES = _split_pinyin(
    "王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma "
    "朱zhu 胡hu 郭guo 何he 高gao 林lin 罗luo 郑zheng 梁liang 谢xie 宋song 唐tang 许xu "
    "韩han 冯feng 邓deng 曹cao 彭peng 曾zeng 肖xiao 田tian 董dong 袁yuan 潘pan 于yu "
    "蒋jiang 蔡cai 余yu 杜du 叶ye 程cheng 苏su 魏wei 吕lv 丁ding 任ren 沈shen 姚yao "
    "卢lu 姜jiang 崔cui 钟zhong 谭tan 陆lu 汪wang 范fan 金jin 石shi 廖liao 贾jia 夏xia "
    "韦wei 方fang 白bai 邹zou 孟meng 熊xiong 秦qin 邱qiu 江jiang 尹yin 薛xue 段duan "
    "雷lei 侯hou 龙long 史shi 陶tao 黎li 贺he 顾gu 毛mao 郝hao 龚gong 邵shao 万wan "
    "钱qian 严yan 武wu 戴dai 莫mo 孔kong 向xiang 汤tang"
)
_COMPOUND_SURNAMES = _split_pinyin(
    "欧阳ouyang 司马sima 诸葛zhuge 上官shangguan 司徒situ 东方dongfang 皇甫huangfu 慕容murong"
)
_COMPOUND_SHARE = 0.02


def _surname_weights() -> tuple[float, ...]:
    """Common surnames by falling rank weight; compound ones share ``_COMPOUND_SHARE``."""
    common = [1 / (rank + 8) for rank in range(len(_COMMON_SURNAMES))]
    compound_total = sum(common) * _COMPOUND_SHARE / (1 - _COMPOUND_SHARE)
    compound = [compound_total / len(_COMPOUND_SURNAMES)] * len(_COMPOUND_SURNAMES)
    return (*common, *compound)


_SURNAMES = _COMMON_SURNAMES + _COMPOUND_SURNAMES
_SURNAME_CUM_WEIGHTS = tuple(accumulate(_surname_weights()))
_SURNAME_TOTAL = _SURNAME_CUM_WEIGHTS[-1]
_SINGLE_GIVEN_SHARE = 0.3

_GIVEN_MALE = _split_pinyin(
    "伟wei 强qiang 磊lei 军jun 勇yong 杰jie 涛tao 明ming 超chao 刚gang 平ping 辉hui "
    "鹏peng 华hua 飞fei 鑫xin 波bo 斌bin 宇yu 浩hao 凯kai 健jian 俊jun 帆fan 帅shuai "
    "旭xu 宁ning 龙long 林lin 欣xin 建jian 国guo 志zhi 文wen 博bo 晨chen 峰feng 东dong"
)
_GIVEN_FEMALE = _split_pinyin(
    "芳fang 娜na 敏min 静jing 丽li 艳yan 娟juan 霞xia 秀xiu 玲ling 桂gui 英ying 婷ting "
    "雪xue 慧hui 颖ying 琳lin 洁jie 倩qian 萍ping 红hong 梅mei 燕yan 佳jia 欣xin 悦yue "
    "琪qi 晶jing 璐lu 雨yu 思si 梦meng 怡yi 嘉jia 月yue 兰lan 蕾lei 文wen 晓xiao"
)

_BIRTH_FIRST = date(1940, 1, 1).toordinal()
_BIRTH_DAYS = date(2006, 12, 31).toordinal() - _BIRTH_FIRST + 1

_MOBILE_PREFIXES = tuple(
    str(prefix)
    for prefix in (
        *range(130, 140),
        *range(150, 160),
        166,
        *range(170, 179),
        *range(180, 190),
        191,
        198,
        199,
    )
)
_MOBILE_FORMATS = ("+86 {}{}{}", "{}-{}-{}", "{} {} {}")
_MOBILE_FORMATTED_SHARE = 0.10

_EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "example.cn")
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"

# UnionPay issuer BINs and the card length each issues.
_CARD_BINS = (
    ("622202", 19),  # ICBC
    ("621700", 19),  # CCB
    ("622848", 19),  # ABC
    ("623058", 19),  # Ping An
    ("621661", 19),  # BOC
    ("622588", 16),  # CMB
    ("621483", 16),  # CMB
)

_STREET_ROOTS = (
    "人民 解放 中山 建设 和平 胜利 新华 文化 友谊 光明 幸福 长江 黄河 青年 学府 科技 滨江 "
    "东风 工业 花园 银河 南京 北京 团结 育才 金融 春华 望江 迎宾 民主"
).split()

# Plate serials are mostly digits; I and O are never used.
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_SERIAL_POOL = "0123456789" * 7 + _PLATE_LETTERS
_NEW_ENERGY_SHARE = 0.10

_HARMLESS_REMARKS = (
    "无",  # the most common note, hence listed three times
    "无",
    "无",
    "按时缴纳社保",
    "资料齐全",
    "已完成年度复核",
    "本人到场办理",
    "信息已更新",
    "申请材料待补充",
    "已电话回访，无异议",
    "住址变更，待核实",
    "享受低保政策",
    "已办理居住证",
    "已回访, 客户满意",  # an ASCII comma: the CSV must quote this field
    '标记为"重点关注"',  # double quotes: the CSV must escape these
)
_EMBEDDED_SHARE = 0.30
_EMBEDDING_REMARKS: dict[str, tuple[str, ...]] = {
    "mobile": ("联系电话{}，请回访", "客户来电，回拨{}", "紧急联系人手机{}"),
    "id_number": ("身份证号{}已核验", "证件号码：{}，待复印", "核对身份证{}无误"),
    "email": ("邮箱 {}", "电子回单发送至{}", "已发邮件到 {} 确认"),
    "bank_card": ("工资卡{}已绑定", "退款至银行卡 {}", "代扣账户{}"),
    "plate": ("车牌{}违停", "名下车辆{}已年检", "车辆{}登记停车位"),
}
_EMBEDDED_KINDS = tuple(_EMBEDDING_REMARKS)


def generate_people(
    path: Path,
    rows: int = 100_000,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``rows`` synthetic residents as a UTF-8 CSV at ``path``; return the row count.

    The file is written to a temporary file next to ``path`` and moved into place with
    :func:`os.replace`, so ``path`` is never half-written: on any error (including one
    raised by ``progress``) the temporary file is removed and ``path`` is left as it was.
    ``progress(n)`` is called with the number of rows written so far after every
    ``PROGRESS_EVERY`` rows and after the last one. The output depends only on ``rows`` and
    ``seed``.
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    path = Path(path)
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            os.fchmod(fd, 0o644)  # mkstemp makes it owner-only; this is an ordinary data file
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(PEOPLE_COLUMNS)
            for start in range(0, rows, PROGRESS_EVERY):
                end = min(start + PROGRESS_EVERY, rows)
                writer.writerows(_person(rng, person_id) for person_id in range(start + 1, end + 1))
                if progress is not None:
                    progress(end)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return rows


def _person(rng: random.Random, person_id: int) -> tuple[object, ...]:
    """One row, in ``PEOPLE_COLUMNS`` order."""
    is_male = rng.random() < 0.5
    surname, given, surname_py, given_py = _name(rng, is_male)
    born = date.fromordinal(_BIRTH_FIRST + int(rng.random() * _BIRTH_DAYS)).isoformat()
    id_code = rng.choice(_REGION_CODES)
    id_number = _id_number(rng, id_code, born, is_male)
    home_code = id_code if rng.random() >= _MOVED_AWAY else rng.choice(_REGION_CODES)
    province, city, district = REGIONS[home_code]
    identifiers = {
        "mobile": _mobile(rng),
        "id_number": id_number,
        "email": _email(rng, surname_py, given_py, born[:4]),
        "bank_card": _bank_card(rng),
        "plate": _plate(rng, _CITIES[city]),
    }
    return (
        person_id,
        surname + given,
        "男" if is_male else "女",
        born,
        id_number,
        identifiers["mobile"],
        identifiers["email"],
        identifiers["bank_card"],
        _address(rng, province, city, district),
        district,
        identifiers["plate"],
        _income(rng, city, district),
        _remark(rng, identifiers),
    )


def _digits(rng: random.Random, n: int) -> str:
    """``n`` uniformly random decimal digits (n <= 15), leading zeros kept."""
    return str(10**n + int(rng.random() * 10**n))[1:]


def _name(rng: random.Random, is_male: bool) -> tuple[str, str, str, str]:
    """(surname, given name, surname pinyin, given-name pinyin)."""
    surname, surname_py = _SURNAMES[bisect(_SURNAME_CUM_WEIGHTS, rng.random() * _SURNAME_TOTAL)]
    pool = _GIVEN_MALE if is_male else _GIVEN_FEMALE
    if rng.random() < _SINGLE_GIVEN_SHARE:
        given, given_py = rng.choice(pool)
        return surname, given, surname_py, given_py
    (first, first_py), (second, second_py) = rng.choice(pool), rng.choice(pool)
    return surname, first + second, surname_py, first_py + second_py


def _id_number(rng: random.Random, region: str, born: str, is_male: bool) -> str:
    """An 18-character resident ID; the sequence number is odd for men, even for women."""
    sequence = 2 * int(rng.random() * 499) + (1 if is_male else 2)  # 001-997 or 002-998
    first17 = f"{region}{born[:4]}{born[5:7]}{born[8:]}{sequence:03d}"
    return first17 + id_check_char(first17)


def _mobile(rng: random.Random) -> str:
    """An 11-digit mobile number; about 10% in a '+86 ', dashed or spaced format."""
    number = rng.choice(_MOBILE_PREFIXES) + _digits(rng, 8)
    if rng.random() >= _MOBILE_FORMATTED_SHARE:
        return number
    return rng.choice(_MOBILE_FORMATS).format(number[:3], number[3:7], number[7:])


def _email(rng: random.Random, surname_py: str, given_py: str, birth_year: str) -> str:
    """Pinyin-based, QQ-number or random ASCII local part at a common mail domain."""
    style = rng.random()
    if style < 0.2:
        return f"{rng.randrange(10_000, 3_000_000_000)}@qq.com"
    if style < 0.4:
        local = "".join(rng.choices(_ASCII_LOWER, k=rng.randint(5, 10))) + _digits(rng, 2)
    elif style < 0.6:
        local = f"{given_py}{rng.choice('._')}{surname_py}"
    else:
        suffix = rng.choice((birth_year, birth_year[2:], _digits(rng, 3), ""))
        local = surname_py + given_py + suffix
    return f"{local}@{rng.choice(_EMAIL_DOMAINS)}"


def _bank_card(rng: random.Random) -> str:
    """A UnionPay debit card number (16 or 19 digits) with a valid Luhn check digit."""
    bin_, length = rng.choice(_CARD_BINS)
    payload = bin_ + _digits(rng, length - len(bin_) - 1)
    return payload + luhn_check_digit(payload)


def _address(rng: random.Random, province: str, city: str, district: str) -> str:
    """Province + city + district + street + number, sometimes with building/unit/room."""
    region = province + district if province == city else province + city + district
    street = f"{rng.choice(_STREET_ROOTS)}{rng.choice('路街')}{1 + int(rng.random() * 999)}号"
    detail = rng.random()
    if detail < 0.4:
        return region + street
    building = 1 + int(rng.random() * 30)
    room = f"{1 + int(rng.random() * 33)}0{1 + int(rng.random() * 6)}"
    if detail < 0.7:
        return f"{region}{street}{building}栋{room}室"
    return f"{region}{street}{building}栋{1 + int(rng.random() * 6)}单元{room}室"


def _plate(rng: random.Random, city: _City) -> str:
    """A plate of the city: 5-character serial, or a 6-character new-energy one (~10%)."""
    prefix = city.plate + rng.choice(city.letters)
    if rng.random() < _NEW_ENERGY_SHARE:
        return prefix + rng.choice("DF") + _digits(rng, 5)
    return prefix + "".join(rng.choices(_PLATE_SERIAL_POOL, k=5))


def _income(rng: random.Random, city: str, district: str) -> int:
    """Yearly income in yuan: log-normal around the district's median, to the hundred."""
    median = _CITIES[city].median_income * _DISTRICT_INCOME_FACTOR.get(district, 1.0)
    return max(6_000, 100 * round(median * rng.lognormvariate(0.0, 0.6) / 100))


def _remark(rng: random.Random, identifiers: dict[str, str]) -> str:
    """A harmless note, or (~30%) a note that embeds one of the row's identifiers."""
    if rng.random() >= _EMBEDDED_SHARE:
        return rng.choice(_HARMLESS_REMARKS)
    kind = rng.choice(_EMBEDDED_KINDS)
    return rng.choice(_EMBEDDING_REMARKS[kind]).format(identifiers[kind])
