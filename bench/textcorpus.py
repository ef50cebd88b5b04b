"""A labeled corpus of Chinese free text with embedded PII, for measuring the masker.

Written apart from ``sandbox.demo`` (whose remarks embed only identifiers, from a fixed
template list) and from the masker's word lists: five domains (civil affairs, health,
tax, transport, complaints), each with hand-written sentences in the voice of that
domain's case notes, and PII slots that vary in how they are written (spaced and
lowercase IDs, mobiles with every prefix and bracket form, grouped cards, new-energy
plates, addresses at several depths). Names are drawn from a surname table weighted by
population share that includes surnames outside the masker's list, with one- and
two-character given names. Every sentence also carries non-PII words that start with a
surname character (高速, 周末, 黄金, 方案 ...), dates, amounts and case numbers, which a
masker should leave alone.

``corpus(n, seed)`` returns ``Example(text, spans)``; each span is
``(start, end, kind, visible)`` where ``visible`` is how many leading characters may stay
(a surname, an ID's region code) and ``visible_end`` the trailing ones.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# Surname shares (per mille, roughly the national census order), including some rare and
# compound surnames that no short surname list holds.
_SURNAMES = (
    ("王", 72), ("李", 70), ("张", 68), ("刘", 53), ("陈", 45), ("杨", 31), ("黄", 22), ("赵", 20),
    ("吴", 19), ("周", 19), ("徐", 14), ("孙", 14), ("马", 13), ("朱", 12), ("胡", 12),
    ("郭", 11), ("何", 10), ("林", 10), ("高", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 7),
    ("宋", 6), ("唐", 6), ("许", 6), ("韩", 5), ("邓", 5), ("冯", 5), ("曹", 5), ("彭", 5),
    ("曾", 4), ("肖", 4), ("田", 4), ("董", 4), ("潘", 3), ("袁", 3), ("蔡", 3), ("蒋", 3),
    ("余", 3), ("于", 3), ("杜", 3), ("叶", 3), ("程", 3), ("魏", 3), ("苏", 3), ("吕", 3),
    ("丁", 3), ("任", 2), ("卢", 2), ("姚", 2), ("沈", 2), ("钟", 2), ("姜", 2), ("崔", 2),
    ("谭", 2), ("陆", 2), ("范", 2), ("汪", 2), ("廖", 2), ("石", 2), ("金", 2), ("韦", 2),
    ("贾", 2), ("夏", 2), ("方", 2), ("白", 2), ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2),
    ("欧阳", 1), ("司马", 1), ("上官", 1), ("诸葛", 1), ("皇甫", 1), ("慕容", 1),
    ("仝", 1), ("佴", 1), ("逯", 1), ("昝", 1), ("眭", 1), ("禤", 1), ("浦", 1), ("茹", 1),
    ("钟离", 1), ("东方", 1), ("令狐", 1), ("闻", 1), ("宁", 1), ("龚", 1), ("温", 1),
)  # fmt: skip
_GIVEN = (
    "子涵 浩然 梓萱 一诺 雨桐 思远 宇航 欣怡 俊杰 嘉怡 志强 秀兰 桂芳 建军 丽娟 海燕 国庆 文博 "
    "晓东 若曦 明轩 雅琴 振宇 佳琪 永福 淑珍 德胜 玉梅 少华 春生 冬梅 立新 红霞 志刚 卫东 美玲 "
    "诗涵 泽宇 沐阳 梓轩 锦程 天佑 安然 书瑶 静怡 昊天 铭泽 婉清 晨曦 亦凡 芷若 乐萱 嘉豪 "
    "鹏飞 翠花 长青 国栋 宏伟 凤英 桂英 建华 金花 亚楠 霞 敏 静 磊 洋 勇 艳 杰 娟 涛 超 "
    "军 平 刚 琳 斌 颖 鑫 丹 萍 婷 浩 宁 悦 彤 璐 蕾 欢 旭 辉 峰 毅 莉 倩 薇"
).split()

_REGIONS = ("110105", "310104", "440305", "510107", "330106", "420111", "610113", "370202")


@dataclass
class Example:
    text: str
    spans: list[tuple[int, int, str, int, int]]  # start, end, kind, visible, visible_end
    domain: str


def _name(rng: random.Random) -> tuple[str, int]:
    surname = rng.choices([s for s, _ in _SURNAMES], [w for _, w in _SURNAMES])[0]
    given = rng.choice(_GIVEN)
    if len(given) == 2 and rng.random() < 0.15:
        given = given[0]
    return surname + given, len(surname)


def _id_check(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def _resident_id(rng: random.Random) -> str:
    body = (
        rng.choice(_REGIONS)
        + f"{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        + f"{rng.randint(0, 999):03d}"
    )
    check = _id_check(body)
    if check == "X" and rng.random() < 0.5:
        check = "x"
    value = body + check
    style = rng.random()
    if style < 0.15:
        return f"{value[:6]} {value[6:14]} {value[14:]}"
    if style < 0.25:
        return " ".join(value[i : i + 4] for i in range(0, 18, 4))
    return value


def _mobile(rng: random.Random) -> str:
    number = rng.choice("3456789") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    number = "1" + number
    forms = (
        number,
        f"{number[:3]}-{number[3:7]}-{number[7:]}",
        f"{number[:3]} {number[3:7]} {number[7:]}",
        f"+86 {number}",
        f"+86-{number[:3]}-{number[3:7]}-{number[7:]}",
        f"(+86){number}",
        f"（+86）{number}",
        f"0086{number}",
        f"86-{number}",
        f"+86{number}",
    )
    return rng.choice(forms)


def _card(rng: random.Random) -> str:
    length = rng.choice((16, 19))
    digits = rng.choice(("622202", "621700", "622848", "625955")) + "".join(
        str(rng.randint(0, 9)) for _ in range(length - 6)
    )
    if rng.random() < 0.5:
        return " ".join(digits[i : i + 4] for i in range(0, length, 4))
    return digits


def _email(rng: random.Random) -> str:
    user = rng.choice(("zhang.wei", "lx_2019", "hello.kitty88", "minglu", "t.qian", "oaoa12"))
    return f"{user}{rng.randint(1, 99)}@{rng.choice(('qq.com', '163.com', 'gov.cn', 'mail.org'))}"


def _plate(rng: random.Random) -> str:
    prov = rng.choice("京沪粤浙苏川鄂湘鲁豫")
    letter = rng.choice("ABCDEFGHJK")
    serial = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))
    if rng.random() < 0.3:
        serial = rng.choice("DF") + serial
    sep = rng.choice(("", "", "·", " "))
    return f"{prov}{letter}{sep}{serial}"


def _address(rng: random.Random) -> tuple[str, int]:
    city = rng.choice(
        ("杭州市西湖区", "成都市武侯区", "武汉市洪山区", "南京市鼓楼区", "深圳市南山区")
    )
    street = rng.choice(("文三路", "科华北路", "珞喻路", "中山北路", "科技园南区高新南七道"))
    rest = f"{rng.randint(1, 999)}号" + rng.choice(
        (
            "",
            f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(101, 2908)}室",
            f"{rng.randint(1, 12)}幢{rng.randint(101, 1808)}",
        )
    )
    return city + street + rest, len(city)


def _birth(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice((f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}.{m}.{d}"))


# Hand-written sentences per domain. Slots: {P} a person, {ID} {M} {C} {E} {PL} {A} {B}.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "civil": (
        "{P}（户主）申请城乡低保，家庭成员三人，其配偶{P}长期卧病，儿子{P}在读高中。",
        "今日{P}到社区服务中心窗口补办居住证，登记身份证号{ID}，周末可来领取。",
        "走访记录：{P}老人独居，邻居{P}每天帮忙买菜，联系方式{M}。",
        "婚姻登记处受理{P}与{P}的结婚登记，双方材料齐全，于2024-03-15发证。",
        "经核实，{P}户籍地址为{A}，与申报一致，方案已报街道审批。",
        "残疾人补贴发放名单新增{P}，补贴金额1,200元/月，打款至{C}。",
        "{P}，女，{B}出生，因家中房屋漏水申请临时救助，现借住在亲戚{P}家。",
        "民政专干{P}电话回访{P}，对方表示已收到高龄津贴，满意。",
        "殡葬服务登记：逝者{P}，身份证{ID}，家属{P}，联系电话{M}。",
        "社区网格员{P}反馈：{A}有独居老人{P}，黄金周期间需重点关注。",
    ),
    "health": (
        "患者{P}，男，58岁，主诉胸闷气短三天，既往高血压病史，由其女{P}陪同就诊。",
        "{P}于2023年11月2日入院，主治{P}医生建议行冠脉造影，家属{P}签字同意。",
        "门诊日志：上午接诊{P}、{P}、{P}三位发热患者，均已开具血常规检查。",
        "紧急联系人{P}（母亲），电话{M}；患者本人{P}对青霉素过敏。",
        "随访记录：{P}术后恢复良好，嘱其按时服药，下次复诊时间2024.06.18。",
        "护士{P}交班时发现{P}血压偏高，已通知值班医师{P}处理。",
        "体检报告寄送至{A}，收件人{P}，邮箱{E}。",
        "新生儿{P}，{B}出生，母亲{P}，出生证明编号Q440123456已发放。",
        "转诊单：{P}因糖尿病足转至上级医院，接诊大夫{P}，医保卡号{C}。",
        "心理咨询预约：来访者{P}自述失眠两周，咨询师{P}安排周三下午面谈。",
    ),
    "tax": (
        "纳税人{P}（身份证号{ID}）2023年度综合所得汇算应补税额3,456.78元。",
        "{P}反映个税App无法添加赡养老人信息，其父{P}已满六十周岁。",
        "税务专管员{P}约谈{P}，就股权转让收入申报不实一事进行辅导。",
        "退税款已退至{P}名下银行卡{C}，如有疑问请联系{M}。",
        "企业法定代表人{P}变更为{P}，新任财务负责人{P}的手机号{M}已备案。",
        "发票核查：开票人{P}，收款人{P}，金额合计98,000.00元，税率13%。",
        "房产税减免申请：{P}名下住房位于{A}，面积89.5平方米。",
        "12366热线：{P}先生咨询专项附加扣除，已告知填报口径，邮件回复至{E}。",
        "个体工商户{P}逾期未申报，经电话{M}提醒后于次日补报。",
        "稽查案件编号JC2024-0317：涉案人员{P}、{P}，案情已移交公安。",
    ),
    "transport": (
        "违章记录：车牌{PL}于2024-05-02在高速公路超速行驶，驾驶人{P}已处理。",
        "乘客{P}在地铁2号线遗失钱包，站务员{P}拾获后联系失主{M}。",
        "网约车投诉：司机{P}（车牌{PL}）绕路，乘客{P}要求退款。",
        "驾驶证换证：{P}，身份证{ID}，体检合格，新证寄送地址{A}。",
        "事故认定：{P}驾驶{PL}与{P}驾驶的电动车相撞，{P}负主要责任。",
        "公交卡挂失：持卡人{P}，卡内余额56.50元，已补办新卡。",
        "停车收费争议：车主{P}称其车辆{PL}周末停放未超时，管理员{P}已复核。",
        "货运司机{P}从业资格证即将到期，请于15日内办理，联系电话{M}。",
        "校车备案：驾驶员{P}、随车照管员{P}，线路方案已报教育局。",
        "ETC账户{P}的扣款卡{C}余额不足，已短信通知。",
    ),
    "complaints": (
        "12345来电：{P}称小区物业长期不清理垃圾，要求物业经理{P}给个说法。",
        "市民{P}来信反映邻居{P}家中饲养大型犬，夜间吠叫扰民。",
        "投诉人{P}（电话{M}）反映{A}附近工地夜间施工噪音大。",
        "{P}女士致电，称其母{P}在养老院受到护工{P}的不当对待，要求调查。",
        "举报人{P}实名举报某商家售卖过期食品，提供了购物小票和照片。",
        "工单回访：{P}对处理结果不满意，表示将向上级反映，转{P}科长跟进。",
        "{P}、{P}等五位业主联名反映电梯频繁故障，已派维修工{P}检修。",
        "来访人{P}，身份证号{ID}，反映拆迁补偿款未到账，金额约230万元。",
        "消费者{P}反映网购商品与描述不符，商家客服{P}拒绝退货，邮箱{E}。",
        "热线受理员{P}记录：{P}先生反映路灯不亮，位置在{A}旁。",
    ),
}
# Sentences without any PII, mixed in so precision is measured on plain text too.
PLAIN = (
    "本周末高速公路车流量较大，请合理安排出行时间。",
    "黄金周期间景区实行预约入园，单日限流三万人次。",
    "根据方案，明年将新增公共停车位1,500个，改造老旧小区23个。",
    "常规体检项目包括血常规、尿常规和肝功能检查。",
    "江苏、浙江两省联合开展跨省通办，已办结事项12.6万件。",
    "石油价格上涨带动运输成本增加，部分线路票价上调5%。",
    "林业部门提醒：森林防火期内严禁野外用火。",
    "许多市民反映政务服务大厅排队时间过长，已增设自助终端。",
    "于是窗口工作人员调整了叫号规则，高峰时段增开两个窗口。",
    "白色污染治理成效明显，塑料袋使用量同比下降三成。",
    "温馨提示：办理业务请携带有效证件原件。",
    "包括医保、社保在内的十六项业务已实现全程网办。",
    "程序上需先提交书面申请，再由街道统一报送区民政局。",
    "何时开通夜间门诊尚无定论，卫健委表示正在研究。",
    "安全生产月活动将于6月1日启动，为期一个月。",
    "康复中心新增床位80张，预计年底投入使用。",
    "华东地区今年夏季降水偏多，城市内涝风险加大。",
    "金额超过5万元的报销需经分管领导审批。",
    "马路两侧禁止乱停乱放，违者将被处以罚款。",
    "周边商户已于2024-04-30前完成门头招牌整治。",
)

_SLOT = re.compile(r"\{(P|ID|M|C|E|PL|A|B)\}")


def _fill(slot: str, rng: random.Random) -> tuple[str, str, int, int]:
    """(value, kind, visible prefix, visible suffix) for one slot."""
    if slot == "P":
        name, surname = _name(rng)
        return name, "name", surname, 0
    if slot == "ID":
        return _resident_id(rng), "id_card", 6, 4
    if slot == "M":
        return _mobile(rng), "mobile", 3, 4
    if slot == "C":
        return _card(rng), "bank_card", 6, 4
    if slot == "E":
        return _email(rng), "email", 1, 0
    if slot == "PL":
        return _plate(rng), "plate", 2, 0
    if slot == "A":
        address, county = _address(rng)
        return address, "address", county, 0
    return _birth(rng), "birth_date", 4, 0


def render(template: str, rng: random.Random, domain: str) -> Example:
    text = ""
    spans = []
    pos = 0
    for m in _SLOT.finditer(template):
        text += template[pos : m.start()]
        value, kind, visible, visible_end = _fill(m.group(1), rng)
        spans.append((len(text), len(text) + len(value), kind, visible, visible_end))
        text += value
        pos = m.end()
    text += template[pos:]
    return Example(text, spans, domain)


def corpus(n: int = 2000, seed: int = 20261201) -> list[Example]:
    """``n`` examples, cycling through the domains; one in six is a plain sentence."""
    rng = random.Random(seed)
    domains = list(TEMPLATES)
    out = []
    for i in range(n):
        if i % 6 == 5:
            out.append(Example(rng.choice(PLAIN), [], "plain"))
            continue
        domain = domains[i % len(domains)]
        out.append(render(rng.choice(TEMPLATES[domain]), rng, domain))
    return out


_MARK = re.compile(r"\[\[(name|id_card|mobile|bank_card|email|plate|address|birth_date)\|(.+?)\]\]")
_COMPOUND = set(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 "
    "南宫 西门 百里 呼延 澹台 太史 申屠 闻人 万俟 钟离 赫连 濮阳 公羊 第五 司空 淳于 单于 "
    "拓跋 东郭 左丘 梁丘 公冶 宗政 仲孙 叔孙 乐正 漆雕 巫马 鲜于 闾丘 亓官 司寇 颛孙 段干 "
    "谷梁 公良 壤驷".split()
)
_VISIBLE = {"id_card": (6, 4), "mobile": (3, 4), "bank_card": (6, 4), "email": (1, 0),
            "plate": (2, 0), "birth_date": (4, 0)}  # fmt: skip
_COUNTY = re.compile(r"^.*?(?<!自治)(?<!特别行政)(?<!地)[区县旗]")


def _visible(kind: str, value: str) -> tuple[int, int]:
    if kind == "name":
        if any(dot in value for dot in "·•．"):
            return 0, 0
        return (2 if value[:2] in _COMPOUND and len(value) > 2 else 1), 0
    if kind == "address":
        m = _COUNTY.match(value)
        return (m.end() if m and m.end() < len(value) else 0), 0
    return _VISIBLE.get(kind, (0, 0))


def load_marked(path: str) -> list[Example]:
    """A hand-written corpus: one sentence per line, PII marked ``[[kind|value]]``."""
    out = []
    section = ""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                section = line.lstrip("# ").strip() or section
                continue
            text, spans, pos = "", [], 0
            for m in _MARK.finditer(line):
                text += line[pos : m.start()]
                kind, value = m.group(1), m.group(2)
                head, tail = _visible(kind, value)
                spans.append((len(text), len(text) + len(value), kind, head, tail))
                text += value
                pos = m.end()
            text += line[pos:]
            out.append(Example(text, spans, section))
    return out
