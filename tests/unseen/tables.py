"""Independent "unseen-style" test tables for desensitisation of Chinese public-sector data.

Written without reference to the platform's own demo generator or masking code.
Standard library only.

    tables(rows=400, seed=0) -> list[Table]     deterministic
    write_csv(table, path)                       UTF-8, header row, csv-module quoting

Every free-text mention of a person's full name is either a value of one of the
table's name columns (the row's own people, or another row's) or is listed in
that row's ``hidden_names``.  Hidden names never equal, contain, or are contained
in any name-column value of the same table.  Surname-only references such as
"张先生" / "王某" also occur; they are not full names and are not listed.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Table", "tables", "write_csv"]


@dataclass
class Table:
    name: str
    domain: str
    columns: list[str]
    rows: list[dict[str, str]]
    pii_columns: dict[str, str]
    free_text_columns: list[str]
    sensitive_columns: list[str]
    hidden_names: list[set[str]]


# ---------------------------------------------------------------------------
# name pools
# ---------------------------------------------------------------------------
# single-character surnames with rough per-10k frequencies.  A few real surnames
# that are also very common words (和 时 国 来 都 门 相 信 利 但 由 元 原 明 平 南 司 阳 ...)
# are deliberately left out so that template prose cannot accidentally spell a name.
_SINGLE_SURNAMES = """王725 李719 张686 刘538 陈453 杨308 黄223 赵204 吴200 周191 徐158 孙154 马139 朱129
胡121 郭115 何110 高105 林103 罗98 郑95 梁92 谢80 宋75 唐70 许67 韩65 冯64 邓63 曹62 彭58 曾57 肖56
田55 董54 袁53 潘52 于51 蒋50 蔡49 余48 杜47 叶46 程45 苏44 魏43 吕42 丁41 任40 沈39 姚38 卢37 姜36
崔35 钟34 谭33 陆32 汪31 范30 金29 石28 廖27 贾26 夏25 韦24 付23 方22 白21 邹20 孟19 熊18 秦17 邱16
江15 尹14 薛13 闫12 段11 雷11 侯10 龙10 史10 陶9 黎9 贺9 顾9 毛8 郝8 龚8 邵8 万7 钱7 严7 覃7 武7
戴6 莫6 孔6 向6 汤6 常6 温5 康5 施5 文5 牛5 樊5 葛5 邢5 安4 齐4 易4 乔4 伍4 庞4 颜4 倪4 庄4 聂4
章4 鲁3 岳3 翟3 殷3 詹3 申3 欧3 耿3 关3 兰3 焦3 俞3 左3 柳3 甘3 祝3 包3 宁3 尚2 符2 舒2 阮2 柯2
纪2 梅2 童2 凌2 毕2 单2 季2 裴2 霍2 涂2 成2 苗2 谷2 盛2 曲2 翁2 冉2 骆2 蓝2 路2 游2 辛2 靳2 管2
柴2 蒙2 鲍2 华2 喻2 祁2 蒲2 房2 滕2 屈2 饶2 解2 牟2 艾2 尤2 穆1 农1 卓1 古1 吉1 缪1 简1 车1 项1
连1 芦1 麦1 褚1 娄1 窦1 戚1 岑1 景1 党1 宫1 费1 卜1 冷1 晏1 席1 卫1 米1 柏1 宗1 瞿1 桂1 佟1 应1
臧1 闵1 苟1 邬1 边1 卞1 姬1 师1 仇1 栾1 隋1 商1 刁1 沙1 荣1 巫1 寇1 桑1 郎1 甄1 丛1 仲1 虞1 敖1
巩1 佘1 池1 查1 麻1 苑1 迟1 邝1 封1 谈1 匡1 鞠1 惠1 荆1 乐1 冀1 郁1 胥1 班1 储1 栗1 燕1 楚1 鄢1
劳1 谌1 奚1 皮1 粟1 蔺1 楼1 盘1 满1 闻1 厉1 伊1 仝1 郜1 阚1 权1 帅1 屠1 豆1 朴1 盖1 练1 廉1 禹1
井1 祖1 漆1 巴1 丰1 卿1 狄1 计1 索1 宣1 晋1 初1 芮1 扈1 晁1 阙1 浦1 戈1 鹿1 薄1 邸1 雍1 辜1 裘1
修1 邰1 赫1 杭1 况1 宿1 逯1 隆1 茹1 战1 慕1 嵇1 湛1 宾1 戎1 茅1 揭1 檀1 衣1 展1 昝1 幸1 植1 衡1"""
_SINGLE = [(tok[0], int(tok[1:])) for tok in _SINGLE_SURNAMES.split()]
_COMPOUND_SURNAMES = (
    "欧阳 欧阳 欧阳 司马 司马 上官 上官 诸葛 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 "
    "长孙 宇文 司徒 夏侯 端木 澹台 南宫 轩辕 呼延 独孤 西门 闻人 申屠 万俟 赫连"
).split()
_RARE_SURNAMES = (
    "仉 訾 亓 逄 冼 郄 眭 蒯 厍 佴 笪 缑 郗 禚 酆 隗 郦 甯 璩 邴 乜 靖 钭 暴 寿 郏".split()
)

# given-name material by era and gender
_GIVEN_WORDS = {
    (
        "M",
        "old",
    ): "国庆 建军 建国 卫东 国强 志强 建华 跃进 援朝 胜利 解放 卫国 振华 春生 秋生 冬生 富贵 "
    "来福 爱民 红军 海军 建设 新民 光明 向阳 德福 长江 铁柱 金宝 永刚 保国 学军 抗美 福生".split(),
    (
        "F",
        "old",
    ): "海燕 红梅 秀英 桂英 玉兰 丽娟 秋菊 冬梅 雪梅 金凤 淑芬 春花 桂花 红霞 彩霞 春燕 凤英 "
    "秀兰 玉梅 月娥 素珍 翠花 建英 爱华 秀珍 桂兰 玉珍 美华 小红 卫红".split(),
    ("M", "mid"): "海涛 海波 宏伟 志刚 建平 晓东 小龙 俊杰 文博 晓明 振宇 立新 永健 大鹏 小军 春雷 "
    "东升 海峰 国栋 天翔".split(),
    ("F", "mid"): "晓燕 美玲 丽华 晓丽 婷婷 丹丹 晓红 艳玲 春梅 海霞 丽萍 小燕 静怡 雪莲 晓静 文静 "
    "莉莉 佳佳 倩倩".split(),
    ("M", "new"): "子轩 浩然 宇航 一鸣 俊熙 梓睿 浩宇 思远 皓轩 子豪 沐阳 奕辰 博文 宇轩 梓豪 "
    "铭泽 子墨 一航 睿泽 嘉懿 天佑 锦程".split(),
    ("F", "new"): "梓涵 一诺 欣怡 雨桐 诗涵 可馨 语嫣 子涵 若汐 梦瑶 思彤 雨萱 欣妍 紫萱 芊芊 "
    "安琪 诗雨 沐晴 语桐 悦溪 一涵".split(),
}
_GIVEN_SINGLE = {
    "M": list("伟强磊军勇杰涛斌超刚辉鹏飞鑫波浩亮峰健彬琦毅俊凯"),
    "F": list("静丽敏燕艳娟霞芳娜玲婷雪慧莉萍颖洁琳倩蕾楠媛"),
}
_GIVEN_PARTS = {
    "M": (
        list("志建文永俊德宏晓家立振伟鹏瑞新嘉浩天博宇子金玉长继"),
        list("军华强林辉峰杰涛斌波龙勇刚鑫磊超亮成彬轩豪宁铭洋"),
    ),
    "F": (
        list("秀丽玉桂晓美雪春红静慧佳雅思欣梦雨淑婉文月凤"),
        list("英兰芳梅华珍娟燕霞琴丽萍婷玲莉娜颖怡洁倩琳妍"),
    ),
}

# ---------------------------------------------------------------------------
# regions (real GB/T 2260 county-level codes)
# ---------------------------------------------------------------------------
_REGIONS = [
    ("110101", "北京市", "", "东城区"),
    ("110105", "北京市", "", "朝阳区"),
    ("110108", "北京市", "", "海淀区"),
    ("120101", "天津市", "", "和平区"),
    ("310101", "上海市", "", "黄浦区"),
    ("310104", "上海市", "", "徐汇区"),
    ("310115", "上海市", "", "浦东新区"),
    ("500103", "重庆市", "", "渝中区"),
    ("440106", "广东省", "广州市", "天河区"),
    ("440103", "广东省", "广州市", "荔湾区"),
    ("440305", "广东省", "深圳市", "南山区"),
    ("440304", "广东省", "深圳市", "福田区"),
    ("445281", "广东省", "揭阳市", "普宁市"),
    ("320102", "江苏省", "南京市", "玄武区"),
    ("321281", "江苏省", "泰州市", "兴化市"),
    ("330106", "浙江省", "杭州市", "西湖区"),
    ("330382", "浙江省", "温州市", "乐清市"),
    ("420106", "湖北省", "武汉市", "武昌区"),
    ("420111", "湖北省", "武汉市", "洪山区"),
    ("510107", "四川省", "成都市", "武侯区"),
    ("510104", "四川省", "成都市", "锦江区"),
    ("610113", "陕西省", "西安市", "雁塔区"),
    ("370102", "山东省", "济南市", "历下区"),
    ("370202", "山东省", "青岛市", "市南区"),
    ("370883", "山东省", "济宁市", "邹城市"),
    ("210102", "辽宁省", "沈阳市", "和平区"),
    ("230103", "黑龙江省", "哈尔滨市", "南岗区"),
    ("410105", "河南省", "郑州市", "金水区"),
    ("411522", "河南省", "信阳市", "光山县"),
    ("430104", "湖南省", "长沙市", "岳麓区"),
    ("431121", "湖南省", "永州市", "祁阳县"),
    ("350203", "福建省", "厦门市", "思明区"),
    ("350583", "福建省", "泉州市", "南安市"),
    ("341221", "安徽省", "阜阳市", "临泉县"),
    ("340104", "安徽省", "合肥市", "蜀山区"),
    ("130102", "河北省", "石家庄市", "长安区"),
    ("140105", "山西省", "太原市", "小店区"),
    ("360102", "江西省", "南昌市", "东湖区"),
    ("450103", "广西壮族自治区", "南宁市", "青秀区"),
    ("530102", "云南省", "昆明市", "五华区"),
    ("520102", "贵州省", "贵阳市", "南明区"),
    ("650102", "新疆维吾尔自治区", "乌鲁木齐市", "天山区"),
    ("150102", "内蒙古自治区", "呼和浩特市", "新城区"),
    ("640104", "宁夏回族自治区", "银川市", "兴庆区"),
    ("460105", "海南省", "海口市", "秀英区"),
    ("220102", "吉林省", "长春市", "南关区"),
    ("620102", "甘肃省", "兰州市", "城关区"),
]
_REGION_CODES = {r[0] for r in _REGIONS}

_ROADS = (
    "人民路 解放路 中山路 建设路 幸福路 和平街 文化路 长江路 新华路 朝阳路 光明街 胜利路 青年路 "
    "花园路 滨江大道 工业大道 学府路 东风路 迎宾大道 友谊路 红旗路 北京路 黄河路 振兴路 民主路 "
    "环城东路 桥北街 育才路"
).split()
_COMMUNITIES = (
    "阳光花园 金色家园 幸福里小区 翠苑 锦绣华庭 碧水湾 万科城 绿地新都会 和谐家园 丽景苑 "
    "春江花月 紫荆园 康乐小区 教师新村 铁路新村 凤凰城 电力宿舍 水岸人家"
).split()
_STREETS = "城关 新华 东湖 南湖 滨江 桂园 龙华 东城 西城 北站 府前 五里墩".split()
_TOWNS = "城关镇 新集镇 黄岗镇 柳河镇 石桥镇 杨集乡 马店镇 白云镇 高庄镇 双河镇 十八里铺镇".split()
_VILLAGES = (
    "王庄村 李楼村 张湾村 刘集村 陈庄村 赵营村 前进村 红星村 东升村 团结村 大柳树村 后湖村".split()
)

_MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 "
    "166 172 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 193 195 196 "
    "197 198 199"
).split()

# issuer name, BIN, length
_BANKS = [
    ("中国工商银行", "622202", 19),
    ("中国工商银行", "621226", 19),
    ("中国建设银行", "621700", 19),
    ("中国建设银行", "436742", 16),
    ("中国农业银行", "622848", 19),
    ("中国银行", "621661", 19),
    ("招商银行", "622588", 16),
    ("招商银行", "439225", 16),
    ("交通银行", "622262", 19),
    ("中国邮政储蓄银行", "621799", 19),
    ("浦发银行", "622521", 16),
    ("兴业银行", "622909", 18),
]
_BANKS = [b for b in _BANKS if b[2] in (16, 19)]

_SURNAME_PINYIN = {
    "王": "wang",
    "李": "li",
    "张": "zhang",
    "刘": "liu",
    "陈": "chen",
    "杨": "yang",
    "黄": "huang",
    "赵": "zhao",
    "吴": "wu",
    "周": "zhou",
    "徐": "xu",
    "孙": "sun",
    "马": "ma",
    "朱": "zhu",
    "胡": "hu",
    "郭": "guo",
    "何": "he",
    "高": "gao",
    "林": "lin",
    "罗": "luo",
    "郑": "zheng",
    "梁": "liang",
    "谢": "xie",
    "宋": "song",
    "唐": "tang",
    "许": "xu",
    "韩": "han",
    "冯": "feng",
    "邓": "deng",
    "曹": "cao",
    "彭": "peng",
    "曾": "zeng",
    "肖": "xiao",
    "田": "tian",
    "董": "dong",
    "欧阳": "ouyang",
    "司马": "sima",
    "上官": "shangguan",
    "诸葛": "zhuge",
}

_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤川青藏琼宁"
_PROVINCE_ABBR = {
    "北京市": "京",
    "天津市": "津",
    "上海市": "沪",
    "重庆市": "渝",
    "广东省": "粤",
    "江苏省": "苏",
    "浙江省": "浙",
    "湖北省": "鄂",
    "四川省": "川",
    "陕西省": "陕",
    "山东省": "鲁",
    "辽宁省": "辽",
    "黑龙江省": "黑",
    "河南省": "豫",
    "湖南省": "湘",
    "福建省": "闽",
    "安徽省": "皖",
    "河北省": "冀",
    "山西省": "晋",
    "江西省": "赣",
    "广西壮族自治区": "桂",
    "云南省": "云",
    "贵州省": "贵",
    "新疆维吾尔自治区": "新",
    "内蒙古自治区": "蒙",
    "宁夏回族自治区": "宁",
    "海南省": "琼",
    "吉林省": "吉",
    "甘肃省": "甘",
}


# ---------------------------------------------------------------------------
# check digits
# ---------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=False)) % 11]


def _luhn_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _luhn_ok(num: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(num)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ---------------------------------------------------------------------------
# people
# ---------------------------------------------------------------------------
@dataclass
class _Person:
    surname: str
    given: str
    gender: str  # "M" / "F"
    birth: dt.date

    @property
    def full(self) -> str:
        return self.surname + self.given


def _age(birth: dt.date, ref: dt.date) -> int:
    return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))


def _rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


class _Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self._singles = [s for s, _ in _SINGLE]
        self._cum = []
        acc = 0
        for _, w in _SINGLE:
            acc += w
            self._cum.append(acc)

    def surname(self) -> str:
        r = self.rng.random()
        if r < 0.022:
            return self.rng.choice(_COMPOUND_SURNAMES)
        if r < 0.040:
            return self.rng.choice(_RARE_SURNAMES)
        return self.rng.choices(self._singles, cum_weights=self._cum)[0]

    def given(self, gender: str, year: int) -> str:
        rng = self.rng
        era = "old" if year < 1972 else ("mid" if year < 1998 else "new")
        r = rng.random()
        if era == "old":
            if r < 0.40:
                return rng.choice(_GIVEN_WORDS[(gender, "old")])
            if r < 0.65:
                return rng.choice(_GIVEN_SINGLE[gender])
        elif era == "mid":
            if r < 0.30:
                return rng.choice(_GIVEN_WORDS[(gender, "mid")])
            if r < 0.62:
                return rng.choice(_GIVEN_SINGLE[gender])
            if r < 0.67:
                return rng.choice(_GIVEN_WORDS[(gender, "old")])
        else:
            if r < 0.45:
                return rng.choice(_GIVEN_WORDS[(gender, "new")])
            if r < 0.62:
                return rng.choice(_GIVEN_SINGLE[gender])
        a, b = _GIVEN_PARTS[gender]
        g = rng.choice(a) + rng.choice(b)
        return g if g[0] != g[1] else g[0] + rng.choice(b)

    def person(
        self,
        gender: str | None = None,
        y0: int = 1950,
        y1: int = 2000,
        surname: str | None = None,
        birth: dt.date | None = None,
    ) -> _Person:
        gender = gender or self.rng.choice("MF")
        if birth is None:
            birth = _rand_date(self.rng, dt.date(y0, 1, 1), dt.date(y1, 12, 28))
        sur = surname or self.surname()
        return _Person(sur, self.given(gender, birth.year), gender, birth)


# ---------------------------------------------------------------------------
# identifiers
# ---------------------------------------------------------------------------
def _resident_id(rng: random.Random, region: str, p: _Person) -> str:
    seq = rng.randint(0, 99) * 10 + rng.choice(
        (1, 3, 5, 7, 9) if p.gender == "M" else (0, 2, 4, 6, 8)
    )
    first17 = f"{region}{p.birth:%Y%m%d}{seq:03d}"
    return first17 + _id_check(first17)


def _mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 99999999):08d}"


def _bank_card(rng: random.Random) -> tuple[str, str]:
    bank, bin_, length = rng.choice(_BANKS)
    body = bin_ + "".join(str(rng.randint(0, 9)) for _ in range(length - len(bin_) - 1))
    return bank, body + _luhn_digit(body)


def _group4(s: str) -> str:
    return " ".join(s[i : i + 4] for i in range(0, len(s), 4))


def _plate(
    rng: random.Random, prov: str | None = None, letter: str | None = None
) -> tuple[str, bool]:
    prov = prov or rng.choice(_PLATE_PROVINCES)
    letter = letter or rng.choice("AAAABBBCCDEFGHJK")
    r = rng.random()
    nev = r < 0.32
    if nev:
        if rng.random() < 0.8:  # small new-energy: D/F + letter-or-digit + 4 digits
            tail = (
                rng.choice("DDDF")
                + rng.choice(_PLATE_LETTERS + "0123456789")
                + f"{rng.randint(0, 9999):04d}"
            )
        else:  # large new-energy: 5 digits + D/F
            tail = f"{rng.randint(0, 99999):05d}" + rng.choice("DF")
    else:
        chars = [rng.choice("0123456789") for _ in range(5)]
        for pos in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
            chars[pos] = rng.choice(_PLATE_LETTERS)
        tail = "".join(chars)
    sep = rng.choice(("", "", "", "·", " "))
    return f"{prov}{letter}{sep}{tail}", nev


def _email(rng: random.Random, p: _Person) -> str:
    py = _SURNAME_PINYIN.get(p.surname)
    r = rng.random()
    if r < 0.3:
        return f"{rng.randint(10000, 3999999999)}@qq.com"
    letters = "abcdefghjklmnopqrstwxyz"
    handle = py or "".join(rng.choice(letters) for _ in range(rng.randint(3, 6)))
    sep = rng.choice(("", ".", "_", ""))
    tail = rng.choice(
        (
            str(p.birth.year),
            f"{p.birth.year % 100:02d}",
            str(rng.randint(1, 999)),
            "".join(rng.choice(letters) for _ in range(2)),
        )
    )
    dom = rng.choice(
        ("163.com", "126.com", "sina.com", "foxmail.com", "139.com", "outlook.com", "yeah.net")
    )
    return f"{handle}{sep}{tail}@{dom}"


def _region(rng: random.Random) -> tuple[str, str, str, str]:
    return rng.choice(_REGIONS)


def _address(rng: random.Random, region) -> str:
    _, prov, city, dist = region
    prefix = (prov + city + dist) if (rng.random() < 0.7 or not city) else (city + dist)
    rural = dist.endswith(("县", "市")) and rng.random() < 0.6
    if rural:
        return f"{prefix}{rng.choice(_TOWNS)}{rng.choice(_VILLAGES)}{rng.choice('一二三四五六七八')}组{rng.randint(1, 60)}号"
    r = rng.random()
    room = f"{rng.randint(1, 28)}{rng.randint(1, 4):02d}"
    if r < 0.45:
        return (
            f"{prefix}{rng.choice(_ROADS)}{rng.randint(1, 888)}号{rng.choice(_COMMUNITIES)}"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{room}室"
        )
    if r < 0.75:
        return f"{prefix}{rng.choice(_STREETS)}街道{rng.choice(_ROADS)}{rng.randint(1, 300)}号{rng.choice(('', '院'))}"
    return f"{prefix}{rng.choice(_COMMUNITIES)}{rng.randint(1, 30)}-{rng.randint(1, 6)}-{room}"


def _short_addr(addr: str) -> str:
    for marker in ("区", "县", "市"):
        idx = addr.rfind(marker, 0, 16)
        if idx != -1:
            return addr[idx + 1 :]
    return addr


# ---------------------------------------------------------------------------
# note rendering
# ---------------------------------------------------------------------------
_TOKEN = re.compile(r"\{([A-Za-z_]+\d*)(?:\.(\w+))?\}")
_KEY = re.compile(r"([A-Z]+)(\d*)")
_COLUMN_KINDS = {"P", "C", "O", "X"}


class _RowNotes:
    """Fills note templates for one row.

    Upper-case keys are people.  Pre-assigned people (P, C, O, X1.., and any alias
    such as SP/FA/MO pointing at a column person) are column values; all others are
    generated on first use and become hidden names when their full name is written.
    Lower-case keys are plain values.
    """

    def __init__(
        self,
        names: _Names,
        forbidden: set[str],
        persons: dict[str, _Person],
        values: dict[str, str],
        ref: dt.date,
    ):
        self.names = names
        self.rng = names.rng
        self.forbidden = forbidden
        self.persons = dict(persons)
        self.values = values
        self.ref = ref
        self.generated: set[str] = set()
        self.hidden: set[str] = set()
        self.col_mentions: set[str] = set()

    # -- people ------------------------------------------------------------
    def _family_surname(self) -> str:
        p = self.persons["P"]
        return p.surname if p.gender == "M" else self.person("SP").surname

    def _make(self, kind: str) -> _Person:
        n, p, ref = self.names, self.persons["P"], self.ref
        yb = p.birth.year
        if kind == "M":
            return n.person("M", 1950, 1998)
        if kind == "F":
            return n.person("F", 1950, 1998)
        if kind in ("H", "D"):
            return n.person(None, 1955 if kind == "H" else 1962, 1998)
        if kind == "K":
            return n.person(None, max(yb - 1, 2006), min(yb + 1, ref.year - 5))
        if kind == "SP":
            return n.person("F" if p.gender == "M" else "M", yb - 4, min(yb + 5, ref.year - 20))
        if kind == "FA":
            return n.person("M", yb - 36, yb - 22, surname=p.surname)
        if kind == "MO":
            return n.person("F", yb - 34, yb - 20)
        if kind == "GP":
            return n.person("M", yb - 68, yb - 48, surname=p.surname)
        if kind == "GM":
            return n.person("F", yb - 66, yb - 46)
        if kind == "BB":  # infant (under three)
            return n.person(None, ref.year - 2, ref.year - 1, surname=self._family_surname())
        if kind in ("CH", "SON", "DAU", "KID"):
            g = {"SON": "M", "DAU": "F"}.get(kind)
            if kind == "KID":
                lo, hi = ref.year - 7, ref.year - 5
            else:
                lo, hi = yb + 22, min(yb + 34, ref.year - 1)
            return n.person(g, lo, max(lo, hi), surname=self._family_surname())
        if kind == "SIB":
            return n.person(None, yb - 6, min(yb + 6, ref.year - 1), surname=p.surname)
        if kind == "OP":  # the other parent of a student whose guardian is C
            c = self.persons["C"]
            if c.gender == "M":
                return n.person("F", c.birth.year - 3, c.birth.year + 5)
            return n.person("M", c.birth.year - 5, c.birth.year + 3, surname=p.surname)
        raise KeyError(kind)

    def person(self, key: str) -> _Person:
        if key in self.persons:
            return self.persons[key]
        kind = _KEY.fullmatch(key).group(1)
        if kind in _COLUMN_KINDS:
            raise KeyError(key)
        used = {q.full for q in self.persons.values()}
        for _ in range(500):
            cand = self._make(kind)
            full = cand.full
            if full in used:
                continue
            if any(full in u or u in full for u in used):
                continue
            if full in self.forbidden or any(full in f or f in full for f in self.forbidden):
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("could not find a hidden name")
        self.persons[key] = cand
        self.generated.add(key)
        return cand

    def _attr(self, p: _Person, attr: str) -> str:
        me = self.persons["P"]
        if attr == "sur":
            return p.surname
        if attr == "title":
            return "先生" if p.gender == "M" else "女士"
        if attr == "sex":
            return "男" if p.gender == "M" else "女"
        if attr == "age":
            return str(_age(p.birth, self.ref))
        if attr == "child":
            return "儿子" if p.gender == "M" else "女儿"
        if attr == "sp":
            return "妻子" if p.gender == "M" else "丈夫"
        if attr == "sib":
            older = p.birth < me.birth
            return (
                ("哥哥" if older else "弟弟") if p.gender == "M" else ("姐姐" if older else "妹妹")
            )
        raise KeyError(attr)

    # -- templates ---------------------------------------------------------
    def available(self, tpl: str) -> bool:
        age = _age(self.persons["P"].birth, self.ref)
        bound: dict[int, str] = {}
        for key, _attr in _TOKEN.findall(tpl):
            if key[0].islower():
                if not self.values.get(key):
                    return False
                continue
            if key in self.persons:
                # two different roles in one note must not be the same column person
                if bound.setdefault(id(self.persons[key]), key) != key:
                    return False
                continue
            kind = _KEY.fullmatch(key).group(1)
            if kind in _COLUMN_KINDS:
                return False
            if kind in ("CH", "SON", "DAU") and age < 40:
                return False
            if kind == "SP" and age < 22:
                return False
            if kind == "KID" and not 26 <= age <= 55:
                return False
            if kind == "BB" and not 22 <= age <= 48:
                return False
            if kind in ("FA", "MO", "GP", "GM") and age > 75:
                return False
            if kind == "OP" and not self.values.get("parent_rel"):
                return False
        return True

    def render(self, tpl: str) -> str:
        def sub(m: re.Match) -> str:
            key, attr = m.group(1), m.group(2)
            if key[0].islower():
                return self.values[key]
            p = self.person(key)
            if attr:
                return self._attr(p, attr)
            (self.hidden if key in self.generated else self.col_mentions).add(p.full)
            return p.full

        return _TOKEN.sub(sub, tpl)

    def pick(self, templates: list[str], blank: float = 0.0, blanks=("",)) -> tuple[str, int]:
        if blank and self.rng.random() < blank:
            return self.rng.choice(blanks), -1
        options = [i for i, t in enumerate(templates) if self.available(t)]
        i = self.rng.choice(options)
        return self.render(templates[i]), i


class _Builder:
    """Collects rows, then renders free text once every column name is known."""

    def __init__(self, rng: random.Random, name_columns: list[str]):
        self.rng = rng
        self.names = _Names(rng)
        self.name_columns = name_columns
        self.rows: list[dict[str, str]] = []
        self.people: list[dict[str, _Person]] = []
        self.values: list[dict[str, str]] = []
        self.refs: list[dt.date] = []
        self.on_pick = None  # optional hook(row_index, column, template_index, row, values)

    def add(
        self, row: dict[str, str], people: dict[str, _Person], values: dict[str, str], ref: dt.date
    ):
        self.rows.append(row)
        self.people.append(people)
        self.values.append(values)
        self.refs.append(ref)

    def finish(
        self, free_text: dict[str, tuple[list[str], float, tuple[str, ...]]], n_other: int = 1
    ):
        forbidden = {r[c] for r in self.rows for c in self.name_columns if r[c]}
        hidden, mentions, used_tpl = [], [], []
        mains = [p["P"] for p in self.people]
        for i, row in enumerate(self.rows):
            persons = dict(self.people[i])
            own = {q.full for q in persons.values()}
            for k in range(1, n_other + 1):
                for _ in range(50):
                    other = self.rng.choice(mains)
                    if other.full not in own and not any(
                        other.full in u or u in other.full for u in own
                    ):
                        persons[f"X{k}"] = other
                        own.add(other.full)
                        break
            notes = _RowNotes(self.names, forbidden, persons, self.values[i], self.refs[i])
            for col, (tpls, blank, blanks) in free_text.items():
                text, idx = notes.pick(tpls, blank, blanks)
                row[col] = text
                if self.on_pick:
                    self.on_pick(i, col, idx, row, self.values[i])
                used_tpl.append((col, idx))
            hidden.append(set(notes.hidden))
            mentions.append(notes.col_mentions | notes.hidden)
            assert notes.col_mentions <= forbidden
        return hidden, mentions, used_tpl


def _finish_table(t: Table, mentions, used_tpl, n_templates: dict[str, int]) -> Table:
    t.rows = [{c: r.get(c, "") for c in t.columns} for r in t.rows]
    # private bookkeeping used only by the self-check; not part of the API
    t._mentions = mentions  # type: ignore[attr-defined]
    t._used_templates = used_tpl  # type: ignore[attr-defined]
    t._n_templates = n_templates  # type: ignore[attr-defined]
    return t


def _fmt_date(rng: random.Random, d: dt.date, styles=("iso",)) -> str:
    s = rng.choice(styles)
    if s == "iso":
        return d.isoformat()
    if s == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if s == "slash0":
        return f"{d:%Y/%m/%d}"
    if s == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if s == "cn0":
        return f"{d:%Y年%m月%d日}"
    if s == "compact":
        return f"{d:%Y%m%d}"
    raise KeyError(s)


def _cn_date(d: dt.date) -> str:
    return f"{d.month}月{d.day}日"


# ---------------------------------------------------------------------------
# 1. citizens (civil affairs)
# ---------------------------------------------------------------------------
_CITIZEN_NOTES = [
    "本人{P}来电咨询城乡低保申请条件，已告知需携带户口簿、收入证明到社区窗口办理。",
    "{P}（{P.sex}，{P.age}岁）与其{P.sp}{SP}共同到窗口查询婚姻登记档案，材料齐全，当场出具证明。",
    "经入户核查，{P}家庭共四口人：{P.sp}{SP}、{CH1.child}{CH1}、{CH2.child}{CH2}，其中{CH1}在外地务工。",
    "{P.sur}{P.title}反映其母亲{MO}长期卧床，申请特困供养，已转网格员{H1}跟进。",
    "代办人{SON1}（系{P}之子）持委托书办理，已核验身份证原件及复印件。",
    "{date}电话回访：{P}表示补助金已到账，无其他诉求。",
    "户主{P}因病致贫，配偶{SP}无固定收入，子女{CH1}、{CH2}均在读，建议纳入低保边缘家庭。",
    "{P}本人行动不便未到场，由村委会主任{M1}陪同其{P.sp}{SP}前来说明情况。",
    "系统比对发现{P}名下登记车辆一台，需补充说明车辆用途；联系电话{phone}多次无人接听。",
    "来访人{H1}自称是{P}的邻居，反映{P.sur}家老人独居无人照料，请社区予以关注。",
    "{P}、{SP}夫妇申请临时救助，事由：{reason}。经办人：{H1}；复核：{H2}。",
    "户籍迁入。原籍{origin}，迁入人{P}，随迁人员：{CH1}（{CH1.child}）、{FA}（父亲）。",
    "与{X1}系同一户籍地址，合并核算家庭收入，{P}已签字确认。",
    "电话回访{P}，接电话的是其女儿{DAU1}，称{P.sur}{P.title}住院中，待出院后补签。",
    "{H1}、{H2}两名社工于{date}入户走访，{P}生活基本能自理，居住环境较差。",
    "{P}申请残疾人两项补贴，残疾证号已核验，监护人为其父{FA}。",
    "村民小组长{M1}先生、妇女主任{F1}女士证明：{P}与{P.sp}{SP}已分居多年，无赡养能力。",
]


def _citizens(n: int, seed: int) -> Table:
    rng = random.Random(f"{seed}:citizens")
    cols = [
        "人员编号",
        "xm",
        "公民身份号码",
        "联系电话(手机)",
        "现居住地",
        "出生年月",
        "宗教信仰",
        "救助类别",
        "登记日期",
        "备注",
    ]
    b = _Builder(rng, ["xm"])
    ref = dt.date(2024, 6, 30)
    for i in range(n):
        reg = _region(rng)
        p = b.names.person(None, 1938, 2005)
        pid = _resident_id(rng, reg[0], p)
        live = reg if rng.random() < 0.7 else _region(rng)
        addr = _address(rng, live)
        phone = "" if rng.random() < 0.05 else _mobile(rng)
        regdate = _rand_date(rng, dt.date(2019, 1, 1), dt.date(2024, 6, 1))
        row = {
            "人员编号": f"MZ{live[0]}{regdate.year}{i + 1:05d}",
            "xm": p.full,
            "公民身份号码": pid if rng.random() < 0.97 else pid[:-1] + pid[-1].lower(),
            "联系电话(手机)": phone,
            "现居住地": addr,
            "出生年月": _fmt_date(rng, p.birth, ("iso", "iso", "cn0", "compact", "slash0")),
            "宗教信仰": rng.choices(
                ["无", "佛教", "基督教", "伊斯兰教", "天主教", "道教", ""], [85, 6, 4, 2, 1, 1, 1]
            )[0],
            "救助类别": rng.choice(
                [
                    "城市最低生活保障",
                    "农村最低生活保障",
                    "特困人员救助供养",
                    "临时救助",
                    "困难残疾人生活补贴",
                    "重度残疾人护理补贴",
                    "无",
                    "无",
                ]
            ),
            "登记日期": _fmt_date(rng, regdate, ("slash", "iso", "slash0")),
        }
        origin = _region(rng)
        values = {
            "phone": phone,
            "date": _cn_date(_rand_date(rng, regdate, ref)),
            "reason": rng.choice(
                [
                    "家庭成员突发重病",
                    "房屋遭受火灾",
                    "务工受伤失去收入",
                    "子女上学费用困难",
                    "遭遇交通事故",
                    "暴雨致房屋损毁",
                ]
            ),
            "origin": origin[1] + origin[2] + origin[3],
        }
        b.add(row, {"P": p}, values, ref)
    hidden, mentions, used = b.finish({"备注": (_CITIZEN_NOTES, 0.09, ("", "", "无", "同上"))})
    t = Table(
        "citizens",
        "civil_affairs",
        cols,
        b.rows,
        {
            "xm": "name",
            "公民身份号码": "id_card",
            "联系电话(手机)": "mobile",
            "现居住地": "address",
            "出生年月": "birth_date",
        },
        ["备注"],
        ["宗教信仰", "救助类别"],
        hidden,
    )
    return _finish_table(t, mentions, used, {"备注": len(_CITIZEN_NOTES)})


# ---------------------------------------------------------------------------
# 2. outpatient visits (health)
# ---------------------------------------------------------------------------
# diagnosis, ICD-10 code, department, chief complaint, examination, gender restriction
_DIAGNOSES = [
    ("2型糖尿病", "E11.900", "内分泌科", "口干、多饮、多尿伴体重下降", "糖化血红蛋白、OGTT", None),
    ("高血压3级", "I10.x05", "心血管内科", "反复头晕头痛", "24小时动态血压", None),
    ("抑郁发作", "F32.900", "精神心理科", "情绪低落、兴趣减退、失眠", "心理量表评估", None),
    ("焦虑障碍", "F41.900", "精神心理科", "心慌、紧张不安", "汉密尔顿焦虑量表", None),
    ("慢性乙型病毒性肝炎", "B18.100", "感染科", "乏力、食欲减退", "HBV-DNA定量、肝功能", None),
    ("支气管哮喘", "J45.900", "呼吸内科", "反复喘息、夜间咳嗽", "肺功能、支气管舒张试验", None),
    ("腰椎间盘突出症", "M51.202", "骨科", "腰痛伴左下肢麻木", "腰椎MRI", None),
    ("冠状动脉粥样硬化性心脏病", "I25.103", "心血管内科", "活动后胸闷", "冠脉CTA", None),
    ("慢性萎缩性胃炎", "K29.400", "消化内科", "上腹隐痛、反酸", "胃镜及病理", None),
    ("甲状腺功能亢进症", "E05.900", "内分泌科", "心悸、多汗、手抖", "甲功五项", None),
    ("早孕", "Z32.101", "妇产科", "停经45天", "妇科B超", "F"),
    ("精神分裂症", "F20.900", "精神心理科", "凭空闻语、疑人害己", "精神检查", None),
    (
        "人类免疫缺陷病毒感染",
        "B24.x01",
        "感染科",
        "反复低热、体重下降",
        "HIV抗体确证试验、CD4计数",
        None,
    ),
    ("前列腺增生", "N40.x00", "泌尿外科", "夜尿增多、排尿困难", "泌尿系B超、PSA", "M"),
    ("高血压2级", "I10.x04", "心血管内科", "头晕", "动态血压", None),
]

_OUTPATIENT_NOTES = [
    "患者{P}，{P.sex}，{P.age}岁，因“{complaint}”就诊，由{rel}{C}陪同。接诊医生：{D1}。",
    "主诉：{complaint}。既往史：否认肝炎、结核病史。家族史：父亲{FA}有高血压病史，母亲{MO}体健。",
    "{D1}医生查房：患者{P.sur}某神志清，精神可，诉症状较前好转，嘱继续目前治疗方案。",
    "紧急联系人{C}（{rel}）已电话确认知情同意，{D1}、{D2}两位医生在场见证。",
    "{P}自述近两周睡眠差，与{P.sp}{SP}关系紧张，否认自伤想法，建议心理科随诊。",
    "转诊记录：患者{P}由社区卫生服务中心{D1}医生转入，请{D2}主任会诊。",
    "复诊。{P}（门诊号{mzh}）{diag}，{exam}结果已回，已调整用药，家属{C}表示理解。",
    "护士{F1}测生命体征：T {temp}℃，P {pulse}次/分，BP {bp}mmHg。患者{P}无明显不适。",
    "患者拒绝住院治疗，签字人：{P}；见证人：{F1}（护士）、{C}（{rel}）。",
    "病史由患者{rel}{C}代述，患者{CH1.child}{CH1}补充：近半年{complaint}反复发作。",
    "{D1}：考虑{diag}，建议完善{exam}。上级医师{D2}审核同意。",
    "电话随访（{phone}），患者本人接听，{P.sur}{P.title}表示症状较前缓解，约{date}复查。",
    "候诊期间患者与其他就诊者{H1}发生口角，经导医{F1}劝解后平息，{P}由{C}陪同就诊。",
    "【心理评估】{P}，PHQ-9评分{phq}分，{D1}医生建议转精神心理科{D2}处进一步评估。",
    "{P}、{C}及患者{SIB1.sib}{SIB1}共同听取病情告知，对{diag}诊断及治疗方案无异议。",
    "{P}诉其{P.sp}{SP}、同事{H1}近期有类似症状，已建议一并就诊筛查。",
]


def _spaced_id(pid: str) -> str:
    return f"{pid[:6]} {pid[6:14]} {pid[14:]}".replace("X", "x")


def _intl_phone(rng: random.Random, m: str) -> str:
    if rng.random() < 0.5:
        return f"+86-{m[:3]}-{m[3:7]}-{m[7:]}"
    return f"(+86){m}"


def _outpatient(n: int, seed: int) -> Table:
    rng = random.Random(f"{seed}:outpatient")
    cols = [
        "门诊号",
        "患者姓名",
        "证件号码",
        "联系电话",
        "jjlxr_name",
        "与患者关系",
        "jjlxr_tel",
        "就诊科室",
        "诊断名称",
        "就诊日期",
        "病程记录",
    ]
    b = _Builder(rng, ["患者姓名", "jjlxr_name"])
    nm = b.names
    for i in range(n):
        visit = _rand_date(rng, dt.date(2024, 1, 2), dt.date(2024, 6, 28))
        reg = _region(rng)
        p = nm.person(None, 1938, 2006)
        age = _age(p.birth, visit)
        diag = rng.choice(
            [
                d
                for d in _DIAGNOSES
                if d[5] in (None, p.gender) and not (d[0] == "早孕" and not 18 <= age <= 45)
            ]
        )
        rels = ["朋友", "其他"]
        if age >= 24:
            rels += ["配偶"] * 4
        if age <= 50:
            rels += ["父亲", "母亲"] * 2
        if age >= 48:
            rels += ["儿子", "女儿"] * 3
        rels += ["兄弟", "姐妹"]
        rel = rng.choice(rels)
        people = {"P": p}
        c = None
        if rng.random() > 0.05:
            yb = p.birth.year
            if rel == "配偶":
                c = nm.person("F" if p.gender == "M" else "M", yb - 4, min(yb + 5, 2004))
                people["SP"] = c
            elif rel == "父亲":
                c = nm.person("M", yb - 35, yb - 22, surname=p.surname)
                people["FA"] = c
            elif rel == "母亲":
                c = nm.person("F", yb - 33, yb - 20)
                people["MO"] = c
            elif rel in ("儿子", "女儿"):
                sur = p.surname if p.gender == "M" else nm.surname()
                c = nm.person(
                    "M" if rel == "儿子" else "F", yb + 22, min(yb + 34, 2005), surname=sur
                )
                people["CH1"] = c
                people["SON1" if rel == "儿子" else "DAU1"] = c
            elif rel in ("兄弟", "姐妹"):
                c = nm.person(
                    "M" if rel == "兄弟" else "F", yb - 6, min(yb + 6, 2005), surname=p.surname
                )
                people["SIB1"] = c
            else:
                c = nm.person(None, 1955, 2002)
            while c.full == p.full or c.full in p.full or p.full in c.full:
                c.given = nm.given(c.gender, c.birth.year)
            people["C"] = c
        m1 = _mobile(rng)
        ctel = _mobile(rng) if c else ""
        dname = rng.choice([diag[0], diag[0], f"{diag[0]}({diag[1]})", f"{diag[1]} {diag[0]}"])
        if diag[0].startswith("高血压") and rng.random() < 0.4:
            dname = diag[0] + rng.choice(["（极高危）", "（高危）", "（中危）"])
        row = {
            "门诊号": f"{visit:%Y%m%d}{i + 1:05d}",
            "患者姓名": p.full,
            "证件号码": _spaced_id(_resident_id(rng, reg[0], p)),
            "联系电话": "" if rng.random() < 0.03 else _intl_phone(rng, m1),
            "jjlxr_name": c.full if c else "",
            "与患者关系": rel if c else "",
            "jjlxr_tel": _intl_phone(rng, ctel) if c else "",
            "就诊科室": diag[2],
            "诊断名称": dname,
            "就诊日期": _fmt_date(rng, visit, ("iso", "iso", "slash0")),
        }
        if c:
            people["C"] = c
        sys_bp = rng.randint(110, 185)
        values = {
            "complaint": diag[3],
            "exam": diag[4],
            "diag": diag[0],
            "rel": rel if c else "",
            "mzh": row["门诊号"],
            "temp": f"{rng.choice((36, 36, 36, 37, 38))}.{rng.randint(0, 9)}",
            "pulse": str(rng.randint(60, 110)),
            "bp": f"{sys_bp}/{rng.randint(60, min(110, sys_bp - 30))}",
            "phone": row["联系电话"] if rng.random() < 0.5 else m1 if row["联系电话"] else "",
            "date": _cn_date(visit + dt.timedelta(days=rng.choice((7, 14, 28, 30)))),
            "phq": str(rng.randint(5, 26)),
        }
        b.add(row, people, values, visit)
    hidden, mentions, used = b.finish({"病程记录": (_OUTPATIENT_NOTES, 0.0, ("",))})
    t = Table(
        "outpatient_visits",
        "health",
        cols,
        b.rows,
        {
            "患者姓名": "name",
            "证件号码": "id_card",
            "联系电话": "mobile",
            "jjlxr_name": "name",
            "jjlxr_tel": "mobile",
        },
        ["病程记录"],
        ["诊断名称"],
        hidden,
    )
    return _finish_table(t, mentions, used, {"病程记录": len(_OUTPATIENT_NOTES)})


# ---------------------------------------------------------------------------
# 3. tax filings
# ---------------------------------------------------------------------------
_TAX_NOTES = [
    "经核实，纳税人{P}{year}年度综合所得汇算申报数据无误，准予退税。审核人：{H1}。",
    "{P}申报的赡养老人扣除中，被赡养人{FA}、{MO}的身份信息与户籍登记不一致，请补充材料。",
    "子女教育扣除：子女{CH1}，就读于{school}；配偶{SP}已按50%申报，{P.sur}{P.title}按50%申报，符合规定。",
    "{P}名下银行账户{bank}于{year}年收到境外汇款三笔，需说明资金来源。经办：{H1}；复核：{H2}。",
    "大病医疗扣除涉及其父{FA}住院自付费用，票据经{H1}逐张核对属实。",
    "任职受雇单位申报收入与本人申报差异较大，已电话联系{P}，其委托代理人{H1}（{agency}）将于三日内提交书面说明。",
    "【风险提示】{P}与{X1}存在大额资金往来，建议纳入重点核查对象。",
    "稿酬所得未并入综合所得计税，审核员{H1}已通知纳税人{P}更正申报。",
    "纳税人{P}、配偶{SP}共同购房，住房贷款利息扣除由{SP}一方申报，本人不得重复扣除。",
    "支付方{company}财务人员{H1}、{H2}确认劳务报酬金额属实，{P}的申报予以认可。",
    "退税账户{bank}户名与纳税人{P}不一致（户名：{H1}），退税暂缓，请纳税人更正银行账户信息。",
    "继续教育扣除凭证（职业资格证书）经{H1}查验无误。",
    "{P.sur}{P.title}来电称漏报住房租金扣除，出租方为{H1}，租赁合同已上传至个税APP。",
    "经{M1}科长批示，同意{P}分期补缴税款及滞纳金，首期已于{date}入库。",
    "{P}的{year}年度申报由其{P.sp}{SP}代为操作，已提醒纳税人本人对申报内容负责。",
    "3岁以下婴幼儿照护扣除：子女{BB1}，由{P}按100%扣除，出生医学证明已核验。",
]
_COMPANY_WORDS = "恒达 鑫源 锦程 博远 瑞丰 天成 汇通 卓越 腾飞 诚信 宏图 中科 凯旋 蓝海".split()
_COMPANY_TYPES = "科技有限公司 贸易有限公司 建筑工程有限公司 文化传媒有限公司 咨询服务有限公司 物流有限公司".split()
_SCHOOLS = (
    "实验小学 第一中学 外国语学校 第二中学 师范大学附属中学 育才小学 理工大学 "
    "职业技术学院 第十四中学"
).split()


def _company(rng: random.Random) -> str:
    reg = _region(rng)
    city = reg[2] or reg[1]
    return f"{city}{rng.choice(_COMPANY_WORDS)}{rng.choice(_COMPANY_TYPES)}"


def _tax(n: int, seed: int) -> Table:
    rng = random.Random(f"{seed}:tax")
    cols = [
        "纳税人名称",
        "纳税人识别号",
        "开户银行",
        "银行账号",
        "所得项目",
        "年度收入额(元)",
        "专项附加扣除",
        "申报日期",
        "主管税务机关",
        "审核意见",
    ]
    b = _Builder(rng, ["纳税人名称"])
    ranges = {
        "工资薪金": (36000, 900000),
        "劳务报酬": (3000, 260000),
        "稿酬所得": (800, 90000),
        "特许权使用费": (5000, 400000),
        "经营所得": (20000, 1500000),
        "财产租赁所得": (6000, 180000),
    }
    for _i in range(n):
        reg = _region(rng)
        p = b.names.person(None, 1955, 2001)
        bank, card = _bank_card(rng)
        item = rng.choices(list(ranges), [60, 14, 5, 3, 12, 6])[0]
        lo, hi = ranges[item]
        amount = rng.randint(lo * 100, hi * 100) / 100
        amt = f"{amount:,.2f}" if rng.random() < 0.3 else f"{amount:.2f}"
        filed = _rand_date(rng, dt.date(2024, 3, 1), dt.date(2024, 6, 30))
        city_short = (reg[2] or reg[1]).replace("市", "")
        branch = rng.choice(
            [f"{city_short}分行", f"{city_short}{reg[3]}支行", f"{city_short}分行营业部", ""]
        )
        deductions = rng.sample(
            [
                "子女教育",
                "赡养老人",
                "住房贷款利息",
                "住房租金",
                "大病医疗",
                "继续教育",
                "3岁以下婴幼儿照护",
            ],
            rng.choice((0, 1, 1, 2, 2, 3)),
        )
        card_fmt = _group4(card) if rng.random() < 0.45 else card
        tax_reg = _region(rng) if rng.random() < 0.3 else reg
        row = {
            "纳税人名称": p.full,
            "纳税人识别号": _resident_id(rng, reg[0], p),
            "开户银行": bank + branch,
            "银行账号": card_fmt,
            "所得项目": item,
            "年度收入额(元)": amt,
            "专项附加扣除": "；".join(deductions),
            "申报日期": _fmt_date(rng, filed, ("iso", "compact", "slash0")),
            "主管税务机关": f"国家税务总局{tax_reg[2] or tax_reg[1]}{tax_reg[3]}税务局第{rng.choice('一二三四五')}税务所",
        }
        values = {
            "year": "2023",
            "bank": card_fmt if rng.random() < 0.6 else card,
            "school": (reg[2] or reg[1]) + rng.choice(_SCHOOLS),
            "agency": (reg[2] or reg[1])
            + rng.choice(["立信", "中汇", "正泰", "德勤华永", "众合"])
            + "税务师事务所",
            "company": _company(rng),
            "date": _cn_date(filed + dt.timedelta(days=rng.randint(5, 40))),
        }
        b.add(row, {"P": p}, values, filed)
    hidden, mentions, used = b.finish({"审核意见": (_TAX_NOTES, 0.05, ("", "待审核"))})
    t = Table(
        "tax_filings",
        "tax",
        cols,
        b.rows,
        {"纳税人名称": "name", "纳税人识别号": "id_card", "银行账号": "bank_card"},
        ["审核意见"],
        ["年度收入额(元)", "专项附加扣除"],
        hidden,
    )
    return _finish_table(t, mentions, used, {"审核意见": len(_TAX_NOTES)})


# ---------------------------------------------------------------------------
# 4. traffic violations (public security)
# ---------------------------------------------------------------------------
# plate prefix, city, lat, lon, districts
_TRAFFIC_CITIES = [
    ("京", "ABCEFGHJKLMNPQ", "北京市", 39.90, 116.40, ["朝阳区", "海淀区", "东城区", "丰台区"]),
    ("沪", "ABCDEFGHJKLMN", "上海市", 31.23, 121.47, ["浦东新区", "徐汇区", "静安区", "闵行区"]),
    ("粤", "A", "广州市", 23.13, 113.26, ["天河区", "越秀区", "海珠区", "白云区"]),
    ("粤", "B", "深圳市", 22.54, 114.06, ["南山区", "福田区", "宝安区", "龙岗区"]),
    ("浙", "A", "杭州市", 30.27, 120.15, ["西湖区", "上城区", "拱墅区", "滨江区"]),
    ("川", "A", "成都市", 30.57, 104.07, ["武侯区", "锦江区", "青羊区", "成华区"]),
    ("苏", "A", "南京市", 32.06, 118.80, ["玄武区", "鼓楼区", "秦淮区", "建邺区"]),
    ("鄂", "A", "武汉市", 30.59, 114.30, ["武昌区", "洪山区", "江汉区", "江岸区"]),
    ("陕", "A", "西安市", 34.34, 108.94, ["雁塔区", "碑林区", "未央区", "莲湖区"]),
    ("鲁", "B", "青岛市", 36.07, 120.38, ["市南区", "市北区", "崂山区", "黄岛区"]),
    ("豫", "A", "郑州市", 34.75, 113.62, ["金水区", "二七区", "中原区", "管城区"]),
    ("湘", "A", "长沙市", 28.23, 112.94, ["岳麓区", "芙蓉区", "天心区", "开福区"]),
]
_VIOLATIONS = [
    ("1625", "驾驶机动车违反道路交通信号灯通行", 6),
    ("1344", "机动车违反禁令标志指示", 3),
    ("1208", "机动车不按规定车道行驶", 2),
    ("1223", "驾驶时拨打接听手持电话", 2),
    ("6011", "未按规定使用安全带", 1),
    ("1721", "饮酒后驾驶机动车", 12),
    ("1636", "超过规定时速50%以上", 12),
    ("1039", "违反规定停放", 0),
    ("1357", "遇行人正在通过人行横道时未停车让行", 3),
    ("1301", "机动车逆向行驶", 3),
    ("1349", "机动车在高速公路上占用应急车道行驶", 6),
    ("1618", "驾驶证被暂扣期间驾驶机动车", 12),
]
_TRAFFIC_NOTES = [
    "驾驶人{P}驾驶{plate}在{red_light}闯红灯，目击群众{H1}、{H2}证实。",
    "当事人{P}对违法事实无异议，当场签字。执勤民警{O}，辅警{M1}。",
    "{P}称车辆当时由其{P.sp}{SP}驾驶，经调取卡口监控核实确为本人驾驶。",
    "现场有乘客{H1}及后车驾驶人{M1}作证，{P}承认在{ped}未停车让行。",
    "{H1}（目击者，电话已登记）称看到{plate}{lane}，驾驶人{P.sur}{P.title}否认。",
    "{P}呼气酒精含量检测值为{bac}mg/100ml，已抽血送检，由{M1}警官、{M2}警官带回{dept}。",
    "事故另一方驾驶人{H1}，车辆{plate2}，双方对责任认定无异议，协商自行解决。{P}签字。",
    "车主{X1}将车辆借给{P}使用，已告知车主承担连带责任。",
    "违法行为人{P}，联系电话{phone}，拒绝在处罚决定书上签字，由见证人{H1}签字确认。",
    "电子警察抓拍，{date}由{P}本人到{dept}接受处理，记{points}分。",
    "{H1}、{H2}、{H3}三名路人协助疏导交通。驾驶人{P}受轻伤，已送{hospital}救治。",
    "经查{P}驾驶证{suspended}，系无证驾驶，移交{M1}警官立案侦查。",
    "{O}警官现场检查：{P}{belt}，副驾驶乘客{H1}亦未系安全带，一并予以警告。",
    "举报人{H1}提供行车记录仪视频，显示{plate}在{shoulder}占用应急车道。",
    "{P}（{P.sex}，{P.age}岁）称其{CH1.child}{CH1}突发疾病急于送医，经核实情况属实，从轻处理。",
    "{P}车内另有乘客{F1}、{M1}，均表示当时车速不快。{O}已制作询问笔录。",
]


def _traffic_mobile(rng: random.Random, m: str) -> str:
    return rng.choice(
        [
            m,
            m,
            m,
            f"{m[:3]} {m[3:7]} {m[7:]}",
            f"{m[:3]}-{m[3:7]}-{m[7:]}",
            f"+86 {m[:3]} {m[3:7]} {m[7:]}",
            f"+86{m}",
            f"0086-{m}",
            f"86-{m}",
            f"{m[:3]}-{m[3:]}",
        ]
    )


def _traffic(n: int, seed: int) -> Table:
    rng = random.Random(f"{seed}:traffic")
    cols = [
        "jds_bh",
        "驾驶人",
        "号牌号码",
        "owner_mobile",
        "违法时间",
        "违法地点",
        "经纬度",
        "违法行为",
        "处理民警",
        "民警备注",
    ]
    b = _Builder(rng, ["驾驶人", "处理民警"])
    officers = []
    seen = set()
    while len(officers) < 14:
        o = b.names.person(None, 1968, 1998)
        if o.full not in seen:
            seen.add(o.full)
            officers.append(o)
    for _i in range(n):
        p = b.names.person(None, 1958, 2004)
        city = rng.choice(_TRAFFIC_CITIES)
        abbr, letters, cname, lat, lon, dists = city
        if rng.random() < 0.75:
            plate, _nev = _plate(rng, abbr, rng.choice(letters))
        else:
            plate, _nev = _plate(rng)
        when = dt.datetime(2024, 1, 1) + dt.timedelta(seconds=rng.randint(0, 180 * 86400))
        dist = rng.choice(dists)
        code, desc, pts = rng.choice(_VIOLATIONS)
        if code in ("1349", "1636"):
            kind = "highway"
        elif code in ("1625", "1357", "1301"):
            kind = "junction"
        else:
            kind = rng.choice(("junction", "street", "street", "highway"))
        if kind == "junction":
            r1, r2 = rng.sample(_ROADS, 2)
            loc = f"{cname}{dist}{r1}与{r2}交叉口" if rng.random() < 0.7 else f"{dist}{r1}{r2}路口"
        elif kind == "street":
            loc = f"{dist}{rng.choice(_ROADS)}{rng.randint(1, 500)}号附近"
        else:
            loc = (
                f"{rng.choice(['G4京港澳高速', 'G15沈海高速', 'G60沪昆高速', 'G5京昆高速', 'G2京沪高速'])}"
                f"K{rng.randint(1, 2200)}+{rng.randint(0, 9) * 100}处"
            )
        officer = rng.choice(officers)
        m = _mobile(rng)
        row = {
            "jds_bh": f"{abbr}公交决字〔2024〕第{rng.randint(1, 999999):07d}号",
            "驾驶人": p.full,
            "号牌号码": plate,
            "owner_mobile": "" if rng.random() < 0.04 else _traffic_mobile(rng, m),
            "违法时间": when.strftime("%Y-%m-%d %H:%M:%S")
            if rng.random() < 0.8
            else when.strftime("%Y/%m/%d %H:%M"),
            "违法地点": loc,
            "经纬度": f"{lon + rng.uniform(-0.25, 0.25):.6f},{lat + rng.uniform(-0.2, 0.2):.6f}",
            "违法行为": f"{code} {desc}" if rng.random() < 0.6 else desc,
            "处理民警": officer.full,
        }
        plate2, _ = _plate(rng, abbr, rng.choice(letters))
        values = {
            "plate": plate,
            "plate2": plate2,
            "loc": loc,
            "phone": row["owner_mobile"]
            if rng.random() < 0.5
            else (m if row["owner_mobile"] else ""),
            "bac": str(rng.randint(20, 160)) if code == "1721" else "",
            "red_light": loc if code == "1625" else "",
            "ped": loc if code == "1357" else "",
            "lane": rng.choice(["变道未打转向灯", "连续变更两条车道", "在实线处变道"])
            if code == "1208"
            else "",
            "suspended": rng.choice(["处于暂扣期间", "已被暂扣六个月"]) if code == "1618" else "",
            "belt": "驾车时未系安全带" if code == "6011" else "",
            "shoulder": loc if code == "1349" else "",
            "dept": f"{cname}公安局交通警察支队{dist}大队",
            "date": _cn_date((when + dt.timedelta(days=rng.randint(3, 30))).date()),
            "points": str(pts) if pts else "",
            "hospital": f"{cname}第{rng.choice('一二三四五六')}人民医院",
        }
        b.add(row, {"P": p, "O": officer}, values, when.date())
    hidden, mentions, used = b.finish({"民警备注": (_TRAFFIC_NOTES, 0.04, ("",))})
    t = Table(
        "traffic_violations",
        "public_security",
        cols,
        b.rows,
        {"驾驶人": "name", "号牌号码": "plate", "owner_mobile": "mobile", "处理民警": "name"},
        ["民警备注"],
        ["违法地点", "经纬度"],
        hidden,
    )
    return _finish_table(t, mentions, used, {"民警备注": len(_TRAFFIC_NOTES)})


# ---------------------------------------------------------------------------
# 5. 12345 hotline complaints (government service)
# ---------------------------------------------------------------------------
_HOTLINE_CONTENT = [
    (
        "噪音扰民",
        "来电人{P}反映：{addr_short}楼上住户{H1}夜间装修噪音扰民，多次协商无果，请求相关部门处理。",
    ),
    (
        "市容环境",
        "市民{P.sur}{P.title}来电称邻居{H1}、{H2}长期在楼道堆放杂物，存在消防隐患，希望尽快清理。",
    ),
    ("物业管理", "{P}投诉物业经理{H1}拒不退还装修押金，且态度恶劣，要求物业公司书面答复。"),
    (
        "医疗卫生",
        "来电人反映其母亲{MO}在{hospital}就诊时被医生{D1}推诿，未予处置。来电人姓名：{P}。",
    ),
    ("市容环境", "{P}（{phone}）称小区门口烧烤摊营业至凌晨，油烟扰民，摊主疑似姓{H1.sur}。"),
    ("劳动保障", "反映{company}拖欠工资三个月，涉及工友{H1}、{H2}、{H3}等十余人，联系人：{P}。"),
    ("教育", "{P}来电咨询{KID1.child}{KID1}的小学入学积分政策，已按口径解答。"),
    ("住房保障", "诉求人{P}与邻居{X1}因车位使用问题发生纠纷，请社区居委会介入调解。"),
    ("其他", "再次来电（第{times}次）：{P}对街道工作人员{H1}的答复不满意，要求上级部门督办。"),
    ("住房保障", "来电人匿名（后经核实为{P}），举报{addr_short}存在群租现象，二房东为{H1}。"),
    ("治安", "{SIB1}（系{P}的{SIB1.sib}）代为来电，反映{P}被{H1}推搡受伤，已拨打110报警。"),
    (
        "消费维权",
        "来电人{P}称快递员{H1}多次未经同意将包裹放入快递柜并产生超时费，要求快递公司道歉。",
    ),
    ("其他", "{P}通过邮件投诉（{email}），称社区网格员{H1}将其个人信息泄露给{H2}。"),
    ("交通出行", "{P}反映{road}公交站台被占用，公交司机{M1}拒绝靠站停车，要求公交公司处理。"),
    (
        "噪音扰民",
        "{P}、{X1}等多名居民联名反映{addr_short}附近工地夜间施工，施工方负责人{M1}拒绝沟通。",
    ),
    ("医疗卫生", "{P}反映其{P.sp}{SP}在社区卫生服务中心接种疫苗后不适，接种医生{D1}未告知禁忌。"),
]
_HOTLINE_RESULT = [
    "已转{dept}办理。承办人{O}联系来电人{P}，{P.sur}{P.title}表示认可。",
    "经现场核查，情况属实，已责令{H1}限期整改。",
    "【回访】{O}回访{P}，对处理结果表示满意。",
    "来电人{P}不接受调解方案，已告知可通过法律途径解决。",
    "已联系相关责任人{H1}，其承诺三日内处理完毕，{O}跟踪督办。",
    "电话{phone}多次无人接听，按规定办结。",
    "社区主任{F8}、民警{M8}共同上门调解，双方达成一致。",
    "办理中。",
    "物业公司客服{F7}女士、维修主管{M7}先生已上门处理，{P}确认问题已解决。",
    "转{dept}，联系人{H9}（综合科），请于5个工作日内答复。",
    "经{dept}核实，{P}反映的问题已于{fix_date}整改完毕，{O}电话告知来电人。",
]


def _hotline(n: int, seed: int) -> Table:
    rng = random.Random(f"{seed}:hotline")
    cols = [
        "工单编号",
        "来电人",
        "caller_mobile",
        "电子邮箱",
        "诉求地址",
        "诉求类别",
        "caller_tag",
        "诉求内容",
        "承办人",
        "办理结果",
        "受理时间",
    ]
    b = _Builder(rng, ["来电人", "承办人"])
    staff, seen = [], set()
    while len(staff) < 10:
        s = b.names.person(None, 1975, 2000)
        if s.full not in seen:
            seen.add(s.full)
            staff.append(s)
    depts = {
        "噪音扰民": "区生态环境局",
        "市容环境": "区城市管理局",
        "物业管理": "区住房和城乡建设局",
        "医疗卫生": "区卫生健康委员会",
        "劳动保障": "区人力资源和社会保障局",
        "教育": "区教育局",
        "住房保障": "街道办事处",
        "其他": "街道办事处",
        "治安": "公安分局",
        "消费维权": "区市场监督管理局",
        "交通出行": "区交通运输局",
    }
    contents = [c for _, c in _HOTLINE_CONTENT]
    for i in range(n):
        p = b.names.person(None, 1945, 2004)
        reg = _region(rng)
        addr = _address(rng, reg)
        m = _mobile(rng)
        mob = rng.choice([m, m, m, f"{m[:3]}-{m[3:7]}-{m[7:]}", f"{m[:3]} {m[3:7]} {m[7:]}"])
        email = _email(rng, p) if rng.random() < 0.8 else ""
        when = dt.datetime(2024, 3, 1, 8) + dt.timedelta(minutes=rng.randint(0, 120 * 24 * 60))
        handler = rng.choice(staff)
        row = {
            "工单编号": f"GD{when:%Y%m%d}{i + 1:06d}",
            "来电人": p.full,
            "caller_mobile": mob,
            "电子邮箱": email,
            "诉求地址": addr,
            "诉求类别": "",
            "caller_tag": rng.choices(
                ["", "残疾人", "低保户", "退役军人", "孕妇", "独居老人", "未成年人"],
                [70, 6, 6, 5, 3, 7, 3],
            )[0],
            "承办人": handler.full,
            "受理时间": when.strftime("%Y-%m-%d %H:%M"),
        }
        values = {
            "addr_short": _short_addr(addr),
            "phone": mob if rng.random() < 0.5 else m,
            "email": email,
            "hospital": f"{reg[2] or reg[1]}第{rng.choice('一二三四五')}人民医院",
            "company": _company(rng),
            "times": str(rng.randint(2, 6)),
            "road": rng.choice(_ROADS),
            "dept": "",
            "fix_date": _cn_date((when + dt.timedelta(days=rng.randint(2, 15))).date()),
        }
        b.add(row, {"P": p, "O": handler}, values, when.date())

    def on_pick(i, col, idx, row, values):
        if col == "诉求内容":
            cat = _HOTLINE_CONTENT[idx][0]
            row["诉求类别"] = cat
            values["dept"] = depts[cat]

    b.on_pick = on_pick
    hidden, mentions, used = b.finish(
        {"诉求内容": (contents, 0.0, ("",)), "办理结果": (_HOTLINE_RESULT, 0.0, ("",))}
    )
    t = Table(
        "hotline_complaints",
        "government_service",
        cols,
        b.rows,
        {
            "来电人": "name",
            "caller_mobile": "mobile",
            "电子邮箱": "email",
            "诉求地址": "address",
            "承办人": "name",
        },
        ["诉求内容", "办理结果"],
        ["caller_tag"],
        hidden,
    )
    return _finish_table(
        t, mentions, used, {"诉求内容": len(contents), "办理结果": len(_HOTLINE_RESULT)}
    )


# ---------------------------------------------------------------------------
# 6. student roster (education, minors' data)
# ---------------------------------------------------------------------------
_STUDENT_NOTES = [
    "{P}同学本学期进步明显，{C}家长积极配合家校沟通。",
    "该生主要由祖母{GM}照料，父亲{FA}常年在外务工，每月电话联系一次。",
    "{P}与同桌{K1}发生矛盾，已分别与双方家长{C}、{H1}沟通，妥善处理。",
    "{P}有{health_note}病史，体育课需注意，校医{F1}已备案。",
    "家访记录：监护人{C}（{grel}）、{P}及其{SIB1.sib}{SIB1}在家，居住环境良好。",
    "{P}近期情绪低落、上课注意力不集中，心理老师{F1}已介入辅导。",
    "推荐{P}、{K1}、{K2}参加区数学竞赛，指导教师：{H1}。",
    "{C.sur}{C.title}来电为{P}请病假三天。",
    "转学生：{P}自{school}转入，原班主任{H1}已移交学籍档案。",
    "{P}课间受伤（左臂擦伤），已第一时间通知家长{C}，由{H1}老师陪同至校医室处理。",
    "{P}父母离异，随{parent_rel}{C}生活，另一方监护人{OP}每月探视一次。",
    "受资助学生：{P}，资助联系人{H1}（{org}）。",
    "{P}作业完成质量较差，已与{grel}{C}约谈，{C.sur}{C.title}表示将加强督促。",
    "{P}在校运会{event}项目获得第二名，与{K1}、{K2}、{K3}组成的接力队获团体第一。",
    "留守儿童关爱：{P}由爷爷{GP}、奶奶{GM}照顾，结对教师{H1}每周谈心一次。",
    "{P}（{P.sex}，{P.age}岁）视力下降明显，已建议{C}带其到眼科复查。",
]


def _students(n: int, seed: int) -> Table:
    rng = random.Random(f"{seed}:students")
    cols = [
        "学籍号",
        "xsxm",
        "sfzjh",
        "csrq",
        "监护人",
        "jhrgx",
        "jhr_lxdh",
        "家庭住址",
        "健康状况",
        "留守儿童",
        "班主任评语",
    ]
    b = _Builder(rng, ["xsxm", "监护人"])
    nm = b.names
    ref = dt.date(2024, 6, 20)
    for i in range(n):
        reg = _region(rng)
        p = nm.person(None, 2009, 2018)
        yb = p.birth.year
        grel = rng.choices(["父亲", "母亲", "祖父", "祖母", "外祖母"], [52, 32, 5, 8, 3])[0]
        people = {"P": p}
        if grel == "父亲":
            c = nm.person("M", yb - 40, yb - 24, surname=p.surname)
            people["FA"] = c
        elif grel == "母亲":
            c = nm.person("F", yb - 38, yb - 22)
            people["MO"] = c
        elif grel == "祖父":
            c = nm.person("M", yb - 66, yb - 48, surname=p.surname)
            people["GP"] = c
        elif grel == "祖母":
            c = nm.person("F", yb - 64, yb - 46)
            people["GM"] = c
        else:
            c = nm.person("F", yb - 64, yb - 46)
        people["C"] = c
        health = rng.choices(
            [
                "健康",
                "近视",
                "支气管哮喘",
                "先天性心脏病（已手术）",
                "癫痫",
                "过敏性鼻炎",
                "1型糖尿病",
                "注意缺陷多动障碍",
                "花生过敏",
            ],
            [60, 15, 5, 3, 2, 6, 2, 4, 3],
        )[0]
        left_behind = (
            "是"
            if (grel in ("祖父", "祖母", "外祖母") and rng.random() < 0.8) or rng.random() < 0.05
            else "否"
        )
        phone = _mobile(rng)
        row = {
            "学籍号": f"XJ{reg[0][:4]}{yb + 6 + (p.birth.month > 8)}{i + 1:05d}",
            "xsxm": p.full,
            "sfzjh": _resident_id(rng, reg[0], p),
            "csrq": _fmt_date(rng, p.birth, ("iso", "iso", "slash")),
            "监护人": c.full,
            "jhrgx": grel,
            "jhr_lxdh": phone if rng.random() < 0.8 else f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            "家庭住址": _address(rng, reg),
            "健康状况": health,
            "留守儿童": left_behind,
        }
        values = {
            "grel": grel,
            "parent_rel": grel if grel in ("父亲", "母亲") else "",
            "health_note": health if health not in ("健康", "近视") else "",
            "school": (reg[2] or reg[1]) + rng.choice(_SCHOOLS[:2] + _SCHOOLS[5:6]),
            "org": rng.choice(["区慈善总会", "春蕾计划办公室", "区关工委", "爱心企业结对帮扶"]),
            "event": rng.choice(["跳绳", "60米跑", "立定跳远", "实心球", "400米跑"]),
        }
        b.add(row, people, values, ref)
    hidden, mentions, used = b.finish({"班主任评语": (_STUDENT_NOTES, 0.03, ("",))})
    t = Table(
        "student_roster",
        "education",
        cols,
        b.rows,
        {
            "xsxm": "name",
            "sfzjh": "id_card",
            "csrq": "birth_date",
            "监护人": "name",
            "jhr_lxdh": "mobile",
            "家庭住址": "address",
        },
        ["班主任评语"],
        ["健康状况", "留守儿童"],
        hidden,
    )
    return _finish_table(t, mentions, used, {"班主任评语": len(_STUDENT_NOTES)})


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def tables(rows: int = 400, seed: int = 0) -> list[Table]:
    """Build the unseen-style tables; same (rows, seed) gives identical output."""
    return [
        builder(rows, seed)
        for builder in (_citizens, _outpatient, _tax, _traffic, _hotline, _students)
    ]


def write_csv(table: Table, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=table.columns)
        writer.writeheader()
        for row in table.rows:
            writer.writerow({c: row.get(c, "") for c in table.columns})


# ---------------------------------------------------------------------------
# self-check
# ---------------------------------------------------------------------------
def _valid_id(raw: str) -> bool:
    s = raw.replace(" ", "").upper()
    if not re.fullmatch(r"\d{17}[\dX]", s) or s[:6] not in _REGION_CODES:
        return False
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= birth <= dt.date(2024, 12, 31) and _id_check(s[:17]) == s[17]


def _mobile_digits(raw: str) -> str:
    d = re.sub(r"\D", "", raw)
    if d.startswith("0086"):
        d = d[4:]
    elif d.startswith("86") and len(d) == 13:
        d = d[2:]
    return d


_PLATE_RE = re.compile(
    "^["
    + _PLATE_PROVINCES
    + "][A-HJ-NP-Z][· ]?(?:[DF][A-HJ-NP-Z0-9]\\d{4}|\\d{5}[DF]|[A-HJ-NP-Z0-9]{5})$"
)


def _scan_names(text: str, registry: set[str]) -> set[str]:
    found, i = set(), 0
    while i < len(text):
        for L in (4, 3, 2):
            if text[i : i + L] in registry:
                found.add(text[i : i + L])
                i += L
                break
        else:
            i += 1
    return found


def _self_check(rows: int = 400, seed: int = 0) -> None:
    ts = tables(rows, seed)
    again = tables(rows, seed)
    assert [t.rows for t in ts] == [t.rows for t in again], "not deterministic"
    assert [t.hidden_names for t in ts] == [t.hidden_names for t in again]
    assert len(ts) >= 5 and len({t.domain for t in ts}) == len(ts)
    name_re = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
    for t in ts:
        assert 6 <= len(t.columns) <= 12, t.name
        assert len(t.rows) == rows and len(t.hidden_names) == rows
        declared = set(t.pii_columns) | set(t.free_text_columns) | set(t.sensitive_columns)
        assert declared <= set(t.columns)
        assert not (set(t.pii_columns) & set(t.free_text_columns))
        assert not (set(t.pii_columns) & set(t.sensitive_columns))
        assert not (set(t.free_text_columns) & set(t.sensitive_columns))
        for row in t.rows:
            assert list(row) == t.columns and all(isinstance(v, str) for v in row.values())
            assert not any(ch in v for v in row.values() for ch in "{}"), row
        name_cols = [c for c, k in t.pii_columns.items() if k == "name"]
        col_names = {r[c] for r in t.rows for c in name_cols if r[c]}
        all_hidden = set().union(*t.hidden_names)
        registry = col_names | all_hidden
        # typed PII columns
        for col, kind in t.pii_columns.items():
            for r in t.rows:
                v = r[col]
                if not v:
                    continue
                if kind == "name":
                    assert name_re.match(v), v
                elif kind == "id_card":
                    assert _valid_id(v), (t.name, v)
                elif kind == "bank_card":
                    d = v.replace(" ", "")
                    assert d.isdigit() and len(d) in (16, 19) and _luhn_ok(d), v
                elif kind == "mobile":
                    assert re.fullmatch(r"1[3-9]\d{9}", _mobile_digits(v)), v
                elif kind == "email":
                    assert re.fullmatch(r"[a-z0-9._]+@[a-z0-9.]+\.[a-z]+", v), v
                elif kind == "plate":
                    assert _PLATE_RE.match(v), v
                elif kind == "birth_date":
                    idc = next(c for c, k in t.pii_columns.items() if k == "id_card")
                    nums = re.findall(r"\d+", v)
                    ymd = (
                        nums[0]
                        if len(nums) == 1
                        else "{:04d}{:02d}{:02d}".format(*(int(x) for x in nums))
                    )
                    assert r[idc].replace(" ", "")[6:14] == ymd, (v, r[idc])
        if t.name == "outpatient_visits":
            for r in t.rows:
                v = r["证件号码"]
                assert v.count(" ") == 2 and "X" not in v
            assert rows < 100 or any(r["证件号码"].endswith("x") for r in t.rows)
            phones = [r[c] for r in t.rows for c in ("联系电话", "jjlxr_tel") if r[c]]
            assert all(p.startswith("+86-") or p.startswith("(+86)") for p in phones)
        if t.name == "traffic_violations":
            nev = [r["号牌号码"] for r in t.rows if len(re.sub(r"[· ]", "", r["号牌号码"])) == 8]
            assert rows < 100 or nev, "no new-energy plates"
        # name invariants
        embeds = own_name = 0
        mains = [c for c in name_cols]
        for i, r in enumerate(t.rows):
            hidden = t.hidden_names[i]
            assert not (hidden & col_names), hidden & col_names
            for h in hidden:
                assert not any(h in c or c in h for c in col_names), h
            text = "\n".join(r[c] for c in t.free_text_columns)
            found = _scan_names(text, registry)
            bad = {f for f in found if f not in col_names and f not in hidden}
            assert not bad, (t.name, i, bad, text)
            for h in hidden:
                assert h in text, (h, text)
            recorded = t._mentions[i]  # type: ignore[attr-defined]
            assert recorded == found, (t.name, i, recorded, found, text)
            for c in t.free_text_columns:
                cell = r[c]
                if any(r[k] and len(r[k]) >= 2 and r[k] in cell for k in t.pii_columns):
                    embeds += 1
                if r[mains[0]] and r[mains[0]] in cell:
                    own_name += 1
        used = t._used_templates  # type: ignore[attr-defined]
        for col, ntpl in t._n_templates.items():  # type: ignore[attr-defined]
            assert ntpl >= 8 and sum(t._n_templates.values()) >= 12
            seen_tpl = {idx for c, idx in used if c == col and idx >= 0}
            if rows >= 300:
                assert len(seen_tpl) == ntpl, (t.name, col, sorted(set(range(ntpl)) - seen_tpl))
        n_cells = rows * len(t.free_text_columns)
        if t.name == "citizens":
            assert rows < 100 or own_name > 0.5 * n_cells, own_name
        n_hidden = sum(len(h) for h in t.hidden_names)
        print(
            f"{t.name:20s} domain={t.domain:18s} rows={len(t.rows)} cols={len(t.columns):2d} "
            f"free_text_cells={n_cells} embed_column_value={embeds} embed_own_name={own_name} "
            f"hidden_names={n_hidden} (distinct {len(all_hidden)}, rows_with_hidden="
            f"{sum(1 for h in t.hidden_names if h)})"
        )
    print("all checks passed")


if __name__ == "__main__":
    _self_check()
