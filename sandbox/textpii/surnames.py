"""Chinese surnames for the free-text name patterns: the Hundred Family Surnames and the
census beyond them, split by how often the character means something else.

``CLEAR`` characters are rarely anything but a surname at the start of a word (訾, 逄,
冼); ``AMBIGUOUS`` ones are everyday words too (和, 平, 明, 高, 金). A candidate starting
with an ambiguous surname needs stronger context (a role word before it, a title or
speech verb after it) than one starting with a clear surname.
"""

from __future__ import annotations

from sandbox.pii import COMPOUND_SURNAMES as _COMMON_COMPOUND
from sandbox.pii import SURNAMES as _COMMON

# 百家姓 (single-character part) and frequent modern surnames it lacks.
_BAIJIAXING = (
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
    "奚范彭郎鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康"
    "伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵"
    "席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗"
    "丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫"
    "乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄"
    "印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍却璩桑桂濮"
    "牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡"
    "国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查"
    "后荆红游竺权逯盖益桓公仉督晋楚闫法汝鄢涂钦岳帅缑亢况郈有琴商牟佘佴伯赏墨哈谯笪年爱阳佟言"
    "福冼郄禚厙雒庹尕覃韦肖付邝靳谌揭褚蔺钭勾仝眭禤亓綦郜钭郦邸旷粟敖战滑迟畅贲仇岑凃阿"
    "栗檀甯豆靖辜盘练宾植衣展修初卿漆苟楼隋冶蹇"
    # In Faker's zh_CN surname list, in neither table above, and rarely a word's start.
    "赫敬鲜尉奉尧闭"
)
_BAIJIAXING_COMPOUND = (
    "万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于 "
    "太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙 "
    "端木 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 羊舌 微生 "
    "梁丘 左丘 东门 西门 南宫 第五 独孤 西门"
).split()

# Characters that are everyday words or function characters as well as surnames.
_EVERYDAY = set(
    "和平明高金万时成于经常安乐文国东向古易全通别能双从印宿白山谷车家干支元水云花方红后相有那"
    "空养须丰关查益公督法汝钦帅况琴商伯赏墨哈年爱阳言福阿甘武符景束龙叶幸司薄怀从索咸籍卓能苍"
    "双贡劳申扶堵宰却桑寿通边尚农温别充连习宦艾鱼容向慎戈终居衡步都满弘匡寇广禄阙欧殳沃利越隆"
    "师冷辛那简饶曾毋沙养鞠须丰巢关相权盖益桓公晋楚岳牟伊宫宁仇计伏成谈强路危童盛凌支解应宗"
    "单包诸左石吉程滑荣翁羊曲封储松井段富巫乌焦巴弓牧山车全班仰秋仲祖席季麻房干毕齐康余顾平"
    "黄穆明米贝舒屈项祝蓝梅林钟高夏田胡霍万莫宣洪敬鲜奉闭"
)

SINGLE: frozenset[str] = frozenset(_COMMON) | frozenset(_BAIJIAXING)
COMPOUND: frozenset[str] = frozenset(_COMMON_COMPOUND) | frozenset(_BAIJIAXING_COMPOUND)
# Major surnames whose everyday uses are dictionary words (黄金, 胡乱, 林业): the word check
# handles those, so they are not treated as ambiguous.
_MAJOR = set("黄胡夏田钟梅洪林宋穆米贝舒屈项祝蓝霍莫宣顾余康齐毕季程石包左吉曲封松段盛童")
AMBIGUOUS: frozenset[str] = frozenset(c for c in SINGLE if c in _EVERYDAY and c not in _MAJOR)
CLEAR: frozenset[str] = SINGLE - AMBIGUOUS
