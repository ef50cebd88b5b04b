"""Person names in free text: jieba's tagger, and surname patterns with context words.

``ner_spans`` runs jieba's part-of-speech tagger. Its dictionary and HMM parameters ship
inside the ``jieba`` wheel (nothing is downloaded); for words not in the dictionary the
HMM (BMES x part of speech) still tags likely names ``nr``. jieba often splits a name
into surname + given name, or tags only part of it: adjacent pieces are joined.

``context_spans`` catches what the tagger misses: a known surname followed by one or two
Han characters, accepted when the words around it say a person is meant (a relation or
role before it, a title, honorific or speech verb after it, a label such as 姓名：, or a
bracket around it), unless the candidate is a common dictionary word that is not a name.

Both keep the surname visible, as the ``name_keep_surname`` column rule does.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from sandbox.textpii import surnames
from sandbox.textpii.patterns import HAN
from sandbox.textpii.spans import STAR, Span

_HAN_RE = re.compile(rf"[{HAN}]+")
_TWO_HAN = re.compile(rf"[{HAN}]{{2}}")

# Before a name: relations, roles and labels (longest first when compiled).
LEFT_WORDS = tuple(
    """
父亲 母亲 爸爸 妈妈 父 母 妻子 丈夫 老公 老婆 爱人 配偶 前妻 前夫 儿子 女儿 儿媳 女婿 孙子 孙女
外孙 外孙女 哥哥 姐姐 弟弟 妹妹 兄长 胞弟 胞妹 爷爷 奶奶 外公 外婆 姥姥 姥爷 祖父 祖母 叔叔 阿姨
伯父 伯母 舅舅 舅妈 姑姑 姑父 姨妈 侄子 侄女 外甥 外甥女 亲属 家属 亲戚 监护人 被监护人 联系人
紧急联系人 联络人 患者 病人 病患 伤者 产妇 新生儿 死者 医生 医师 主治医师 主治医生 主任医师 住院医师
护士 护师 药师 大夫 主治 接诊医生 接诊 会诊 律师 法官 书记员 民警 警官 辅警 交警 协警 同事 邻居
朋友 同学 室友 老师 班主任 校长 学生 司机 驾驶员 驾驶人 乘客 车主 当事人 申请人 被申请人 纳税人
扣缴义务人 法定代表人 法人 代理人 委托人 受托人 经办人 负责人 联系人 户主 本人 被告 原告 第三人
证人 投诉人 被投诉人 举报人 被举报人 来访人 来电人 收件人 寄件人 签收人 收货人 持卡人 开户人
店主 老板 经理 主任 科长 处长 局长 书记 村长 村主任 组长 社工 网格员 志愿者 专管员 税务员
工作人员 办事员 受理人 审核人 审批人 承办人 调解员 业主 租户 房东 租客 住户 村民 居民 市民 员工
职工 雇主 雇员 前台 保安 快递员 骑手 外卖员 维修工 师傅 姓名 名叫 叫做 名为 署名 签名
落款 致电 联系 通知 告知 陪同 委托 转告 转交 交给 交由 找到 询问 约见 探望 看望 接待 指派 安排
先生 女士 约谈 走访 拜访 协助 帮助 感谢 表扬 批评 接诊 老人 发现 看到 遇到 提醒 督促 要求 回访
其女 其子 其妻 其夫 其母 其父 长子 次子 长女 次女 之子 之女 涉案人员 嫌疑人 犯罪嫌疑人 被害人
受害人 同桌 目击群众 目击者 群众 邻座 子女 孩子 小孩 孙辈 教师 辅导员 导师 客户 顾客 用户 会员 学员
教练 导游 导医
护工 保姆 月嫂 厨师 园长 店员 营业员 收银员 出租方 承租方 借款人 出借人 担保人 买方 卖方 甲方 乙方
责令 勒令 命令 授权 指定 任命 聘请 邀请 派遣 劝导 劝说 催促 批准 处罚
""".split()
)
# After a name: titles, honorifics, speech and action verbs (enough on their own) ...
RIGHT_WORDS = tuple(
    """
先生 女士 小姐 同志 老师 医生 医师 大夫 护士 主任 经理 科长 处长 局长 书记 师傅 阿姨 大爷 大妈
大娘 大姐 大哥 老人 夫妇 夫妻 一家 家属 同学 警官 律师 会计 所长 院长 教授 博士 本人 等人
称 说 讲 表示 反映 反应 来电 来访 来信 来函 投诉 举报 咨询 询问 报称 诉称 自述 自称 陈述 签字
签名 确认 报案 申请 办理 缴纳 缴费 驾驶 乘坐 就诊 入院 出院 住院 主诉 提出 提交 要求 希望 认为
告诉 介绍 回电 回复 同意 拒绝 系 陪同 负责 签收 领取 到场 到达 拾获 离开 死亡 去世 受伤
（系 (系 （男 （女 (男 (女
""".split()
)
# ... and function characters and punctuation (enough next to a boundary or a left word).
WEAK_RIGHT = tuple(
    """
（ ( 已 于 因 在 的 和 与 及 是 为 向 对 被 把 将 从 到 曾 现 未 也 都 均 带 陪 领 送 去 来
让 请 给 跟 同 男 女 等 负 获 受 两位 三位 四位 五位 二人 三人 三户 两名 三名 四名 几名 / \u3000
， 。 、 ； ： ） ) 」 ” , . ; : 电话 手机 联系 已经
""".split()
)
_BOUNDARY_BEFORE = set("（(「“\"'：:，,、；;。！!？? \t\n/|\u3000")
_BRACKETS = {"（": "）", "(": ")", "「": "」", "“": "”", "【": "】", "[": "]"}
# Third characters that cannot end a three-character name in running text.
_FUNCTION = set(
    "的在于因称说是和与及已也都就对把被从向到为了来去先女男同等将由让给请均曾现未系吗呢吧啊呀嘛"
)
# Characters ending role words (站务员, 医师, 科长 ...) and connectors between role and name.
_ROLE_SUFFIX = set("员师长官警工士人者医方")
# Prepositions and conjunctions: enough before a name when a function word follows it.
_WEAK_LEFT = set("与和及同跟对向给把被由让将为帮替请叫经")
# An institution's last character right before a name: 内科温建华, 派出所张三.
_AFTER_INSTITUTION = set("科局所院站队部处办署馆校厂司行社")
_BED = re.compile(r"\d+\s*(?:床|号床)$")  # 3床张三: a hospital bed number
_CONNECTOR = re.compile(r"(?:为|是|叫|名叫|：|:|\s)$")
# Last characters of institutions and places: 卫健委, 派出所 are not people.
_INSTITUTION_ENDINGS = set("委局厅所院站队部处科办署馆校厂司行社会园苑场区县市省镇乡村路街巷人者员")
_NON_NAME_TAGS = set("tmqfpcudr")  # time, numeral, measure, direction, function words
_MIN_WORD_FREQ = 30  # a dictionary word this common that is not a name is not a name


def _alternation(words: tuple[str, ...], suffix: str = "") -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("(?:" + "|".join(re.escape(w) for w in ordered) + ")" + suffix)


# Left words that are verbs or labels: context, but not a noun naming the person's role.
LEFT_VERBS = frozenset(
    """
姓名 名叫 叫做 名为 署名 签名 落款 致电 联系 通知 告知 陪同 委托 转告 转交 交给 交由 找到 询问 约见
探望 看望 接待 指派 安排 约谈 走访 拜访 协助 帮助 感谢 表扬 批评 接诊 回访 发现 看到 遇到 提醒 督促
要求 会诊 责令 勒令 命令 授权 指定 任命 聘请 邀请 派遣 劝导 劝说 催促 批准 处罚
""".split()
)
ROLE_NOUNS = tuple(w for w in LEFT_WORDS if w not in LEFT_VERBS)
_LEFT_RE = _alternation(LEFT_WORDS, "$")
_ROLE_RE = _alternation(ROLE_NOUNS, "$")
_VERB_RE = _alternation(tuple(LEFT_VERBS), "$")
_TITLE_RE = re.compile("先生|女士|小姐|同志|师傅|老师|医生|主任|经理|律师|警官")
_ROLE_END = _alternation(tuple(w for w in ROLE_NOUNS if len(w) >= 2 and w not in ("家属", "物业")))
_RIGHT_RE = _alternation(RIGHT_WORDS)
# 处 after a person is "at X's place" (转李斌处, 王五处领取), unless it starts a word (处理).
_WEAK_RE = re.compile(_alternation(WEAK_RIGHT).pattern + r"|\s|处(?![理罚于置分长境方在以])")
_LEFT_WINDOW = max(len(w) for w in LEFT_WORDS)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.posseg


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    return _jieba().dt.word_tag_tab


@lru_cache(maxsize=1)
def _freq() -> dict[str, int]:
    import jieba

    _jieba()
    return jieba.dt.FREQ


_ALL_SURNAMES = surnames.SINGLE


def surname_length(word: str) -> int:
    """1 or 2 when ``word`` starts with a known (compound) surname, else 0."""
    if word[:2] in surnames.COMPOUND and len(word) > 2:
        return 2
    return 1 if word[:1] in _ALL_SURNAMES else 0


def is_common_word(word: str) -> bool:
    """A dictionary word, common enough, whose tag says it is not a person's name."""
    tag = _word_tags().get(word)
    return tag is not None and not tag.startswith("nr") and _freq().get(word, 0) >= _MIN_WORD_FREQ


def _name_span(start: int, word: str, source: str) -> Span | None:
    keep = surname_length(word)
    if not keep or not 2 <= len(word) <= 4 or not _HAN_RE.fullmatch(word) or "某" in word:
        return None  # 王某, 张某某: already anonymised
    if word in surnames.COMPOUND or (len(word) == 4 and keep == 1 and word in _word_tags()):
        return None  # 尉迟 alone; 严格遵守, 雷雨大风: a dictionary word, not a 4-character name
    return Span(start, start + len(word), "name", keep=keep, source=source)


def ner_spans(text: str) -> list[Span]:
    """Names the jieba tagger finds (``nr``/``nrfg``/``nrt``), split pieces joined."""
    if not _TWO_HAN.search(text):
        return []
    words = _split_glue([(w.word, w.flag) for w in _jieba().cut(text)])
    spans: list[Span] = []
    pos = 0
    i = 0
    while i < len(words):
        word, flag = words[i]
        start = pos
        nxt, nflag = words[i + 1] if i + 1 < len(words) else ("", "")
        joined = word + nxt
        if nxt and _HAN_RE.fullmatch(nxt) and len(joined) <= 4 and surname_length(joined):
            if surname_length(word) == len(word) and (
                nflag.startswith("nr") or (flag.startswith("nr") and len(nxt) <= 2
                                           and not is_common_word(nxt))
            ):  # fmt: skip
                # A surname on its own (any tag), then a given name tagged as a name; or a
                # surname tagged as a name, then one or two characters.
                word, flag, i = joined, "nr", i + 1
            elif flag.startswith("nr") and nflag.startswith("nr") and len(nxt) == 1:
                word, i = joined, i + 1  # 李俊 + 杰
            elif flag == "nrfg" and len(nxt) == 1 and nxt not in _FUNCTION:
                word, i = joined, i + 1
        if flag.startswith("nr"):
            span = _name_span(start, word, "ner")
            if (
                span
                and not _looks_like_place(word)
                and (not _doubtful(word) or has_context(text, start, start + len(word)))
            ):
                spans.append(span)
        pos = start + len(word)
        i += 1
    return spans + _isolated_surnames(text, words)


# Tags of tokens that cannot be a given name: function words, numbers, measures, times,
# directions, pronouns, punctuation, interjections and onomatopoeia.
_NOT_GIVEN_TAGS = set("pucdrmqftxyeoz")
_TITLES = frozenset(LEFT_WORDS) | frozenset(RIGHT_WORDS)
# Characters jieba's HMM glues onto the name after them: prepositions, role suffixes and
# institution endings (经王 + 桂兰, 科李斌, 由高萍).
_GLUE = _WEAK_LEFT | _ROLE_SUFFIX | (_INSTITUTION_ENDINGS - set("人者员"))
_COUNTING = set("一二两三四五六七八九十百千几每这那逐各该此某整半数")


def _isolated_surnames(text: str, words: list[tuple[str, str]]) -> list[Span]:
    """A clear surname that jieba could join to no word, followed by a one- or
    two-character token that is no function word: 被吴富贵推搡, 就诊者刘宏伟发生.

    jieba's dictionary holds the everyday words a surname character starts (黄金, 周末,
    张贴); a surname left on its own, or glued by the HMM onto the character before it
    (经王 + 桂兰), is almost always the start of a name.
    """
    spans: list[Span] = []
    tags = _word_tags()
    pos = 0
    offsets = []
    for word, _ in words:
        offsets.append(pos)
        pos += len(word)
    for i, (word, flag) in enumerate(words[:-1]):
        start = offsets[i] + len(word) - 1
        if word[-1] not in surnames.CLEAR or (flag.startswith("nr") and len(word) > 1):
            continue
        if len(word) == 2 and (word in tags or word[0] not in _GLUE):
            continue  # 国王, 补付: a word ending in a surname character
        if len(word) > 2 or (start and (text[start - 1] in _COUNTING or text[start - 1].isdigit())):
            continue  # 三张, 逐张, 5楼: a measure word
        prev = words[i - 1][0] if len(word) == 1 and i else ""
        if len(prev) == 1 and _is_han(prev) and prev not in _WEAK_LEFT | _ROLE_SUFFIX:
            continue  # 补 + 付 + 车费: the surname character may end a word jieba lacks
        given, gflag = words[i + 1]
        if not 1 <= len(given) <= 2 or not all(_is_han(c) for c in given) or "某" in given:
            continue
        if gflag[:1] in _NOT_GIVEN_TAGS or given in _FUNCTION or is_common_word(word[-1] + given):
            continue
        if given in _TITLES or gflag in ("v", "vn", "vd"):  # 王主任, 季 + 结束
            continue
        after = words[i + 2][0] if i + 2 < len(words) else ""
        if len(given) == 1 and len(after) == 1 and _is_han(after) and after not in _FUNCTION:
            continue  # 李 + 子 + 园: a three-character word the dictionary lacks
        if given[-1] in _INSTITUTION_ENDINGS or (word[-1] + given[:1]) in surnames.COMPOUND:
            continue  # 苑 + 小区; 亓官: a compound surname, judged as one
        if text[start + 1 + len(given) : start + 2 + len(given)] == STAR:
            continue  # 亓官* from an earlier pass: masking is idempotent
        end = start + 1 + len(given)
        spans.append(Span(start, end, "name", keep=1, source="ner"))
    return spans


def _split_glue(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """jieba's HMM glues a preposition or an institution's last character onto the name
    after it (科王 + 健, 由高萍): split it off so the name can be joined and judged."""
    out = []
    for word, flag in words:
        if (
            flag.startswith("nr")
            and len(word) >= 2
            and word[0] in _GLUE
            and not surname_length(word)
            and surname_length(word[1:])
            and not is_common_word(word[:2])
        ):
            out += [(word[0], "x"), (word[1:], flag)]
        else:
            out.append((word, flag))
    return out


_COMMON_NAME_FREQ = 200  # a dictionary "name" this frequent is usually a word (银行卡, 老太太)


def _doubtful(word: str) -> bool:
    """A tagged name that needs context: jieba's dictionary tags many common words nr.

    Two-character dictionary entries (高峰, 齐全, 温馨) and very frequent longer ones
    (银行卡, 黄金周) are doubtful; names the HMM found in unknown text are not.
    """
    if word not in _word_tags():
        return False
    if len(word) - surname_length(word) < 2 or _freq().get(word, 0) >= _COMMON_NAME_FREQ:
        return True
    if word[surname_length(word) :] in _TITLES:
        return True  # 王大爷, 何老师: a surname and a title
    if word[0] in surnames.CLEAR and len(word) == 3:
        # 练习生, 雷雨 + 大风 are words; 李建华 is a name though 建华 is a word too.
        return _has_word(word[:2]) or _freq().get(word[:2], 0) >= _COMMON_NAME_FREQ // 2
    return _has_word(word[:-1]) or _has_word(word[1:])  # 申请人, 养老金, 银行卡


def _looks_like_place(word: str) -> bool:
    return word[-1] in _INSTITUTION_ENDINGS or word[-1] in "周节日月年"


def _candidates(text: str) -> list[tuple[int, int]]:
    """(start, surname length) for every surname occurrence followed by a Han character."""
    out = []
    for i, ch in enumerate(text):
        if text[i : i + 2] in surnames.COMPOUND and i + 2 < len(text):
            out.append((i, 2))
        if ch in _ALL_SURNAMES:
            out.append((i, 1))
    return out


def _clear_start(text: str, start: int, sl: int) -> bool:
    """A surname that is rarely anything else, not continuing the word before it."""
    if sl == 1 and text[start] not in surnames.CLEAR:
        return False
    if is_common_word(text[start : start + sl + 1]):
        return False  # 楼层, 宋体: the surname starts a word
    return not is_common_word(text[start - 1 : start + 1]) if start else True


def _word_before(text: str, start: int) -> bool:
    """A dictionary word of 2-3 characters ends right before ``start``."""
    tags = _word_tags()
    return any(
        start - k >= 0
        and text[start - k : start] in tags
        and _freq().get(text[start - k : start], 0) >= _MIN_WORD_FREQ
        for k in (2, 3)
    )


def _word_after(text: str, end: int) -> bool:
    """A common dictionary word of 2-3 characters (not a name) starts at ``end``."""
    return any(is_common_word(text[end : end + k]) for k in (2, 3) if end + k <= len(text))


def _clean_boundaries(text: str, start: int, end: int, sl: int) -> bool:
    """Dictionary words end right before and start right after a three-character
    candidate whose given name is no word: the segmentation leaves exactly a name."""
    if end - start - sl != 2 or _has_word(text[start + sl : end]) or _has_word(text[start:end]):
        return False
    if _freq().get(text[start:end], 0) >= _COMMON_NAME_FREQ:
        return False  # 马拉松: a frequent word the dictionary happens to tag as a name
    if not _clear_start(text, start, sl):
        return False
    before = start == 0 or text[start - 1] in _BOUNDARY_BEFORE or text[start - 1] in _WEAK_LEFT
    before = before or _word_before(text, start)
    return before and _word_after(text, end) and not _has_word(text[end - 1 : end + 1])


def _is_dict_name(word: str) -> bool:
    return _word_tags().get(word, "").startswith("nr")


def _after_institution(text: str, start: int, end: int) -> bool:
    """An institution's last character right before ``start``, not a word with it."""
    if not start or text[start - 1] not in _AFTER_INSTITUTION:
        return False
    if any(is_common_word(text[start - 1 : start + k]) for k in (1, 2, 3)):
        return False  # 队伍, 行程
    return not is_common_word(text[start : start + 2]) or _is_dict_name(text[start:end])


def _between_words(text: str, start: int, end: int, sl: int, ambiguous: bool) -> bool:
    """A preposition before and a dictionary word after a three-character candidate whose
    surname does not start a word: the given name may be a word itself (文静, 国强)."""
    if not start or text[start - 1] not in _WEAK_LEFT or not _word_after(text, end):
        return False
    if text[start] in _FUNCTION or text[start] in _WEAK_LEFT:
        return False  # 请于 + 公示期: the "surname" is a preposition
    word = text[start:end]
    if is_common_word(word) or word[-1] in _FUNCTION:
        return False
    if is_common_word(word[: sl + 1]) and not _is_dict_name(word):
        return False  # 由 + 黄金; but 由王国栋 (a name in jieba's dictionary)
    if ambiguous and (is_common_word(text[start - 1 : start + 1]) or _has_word(word[:2])):
        return False  # 对 + 方案: the preposition and the surname form a word
    return not _has_word(text[end - 1 : end + 1]) and _freq().get(word, 0) < _COMMON_NAME_FREQ


def role_spans(text: str) -> list[Span]:
    """Names after a role or relation word whatever their surname (扎西多吉, 冶生莲).

    Two to four Han characters between a role word and a title, speech verb or
    punctuation, that are not an ordinary word: all are masked (no surname is known).
    """
    spans: list[Span] = []
    for m in _ROLE_END.finditer(text):
        start = m.end()
        for n in (2, 3, 4):
            word = text[start : start + n]
            if len(word) < n or not all(_is_han(c) for c in word):
                break
            rest = text[start + n :]
            if not (_RIGHT_RE.match(rest) or re.match(r"[\s，,。；;、）)：:]|$", rest)):
                continue
            if surname_length(word) or is_common_word(word) or _has_word(word):
                break  # a surname the other patterns judge, or ordinary words (均在外地)
            if any(c in _FUNCTION for c in word):
                break
            spans.append(Span(start, start + n, "name", source="role"))
            break
    return spans


def _has_word(chars: str) -> bool:
    """Any two or more consecutive characters of ``chars`` form a dictionary word."""
    tags = _word_tags()
    return any(
        chars[i:j] in tags and not tags[chars[i:j]].startswith("nr")
        for i in range(len(chars))
        for j in range(i + 2, len(chars) + 1)
    )


def context_spans(text: str) -> list[Span]:
    """Surname + 1-2 Han characters that the surrounding words mark as a person."""
    if not _TWO_HAN.search(text):
        return []
    spans: list[Span] = []
    for start, sl in _candidates(text):
        given = _given_length(text, start, sl)
        if given:
            spans.append(Span(start, start + sl + given, "name", keep=sl, source="context"))
    return spans


def _is_han(ch: str) -> bool:
    return bool(ch) and bool(_HAN_RE.fullmatch(ch))


def _left_hit(text: str, start: int) -> bool:
    """A relation, role or label word (or a role suffix) ends right before ``start``."""
    left = text[max(0, start - _LEFT_WINDOW - 2) : start]
    left = _CONNECTOR.sub("", left)
    if not left:
        return False
    if _LEFT_RE.search(left) or _BED.search(left):
        return True
    if left[-1] in _ROLE_SUFFIX and any(
        left[-k:] in _word_tags() for k in (2, 3, 4) if len(left) >= k
    ):
        return True  # 就诊者, 站务员: a dictionary word ending in a role suffix
    # An enumeration: the name before the 、/和/与 was masked (or is being masked).
    return left[-1] in "、和与及" and left[:-1].endswith(STAR)


def has_context(text: str, start: int, end: int) -> bool:
    """Whether the words around ``text[start:end]`` say it names a person."""
    before = text[start - 1 : start]
    rest = text[end:]
    closing = _BRACKETS.get(before)
    if (closing and rest.startswith(closing)) or _RIGHT_RE.match(rest):
        return True
    if _left_hit(text, start):
        return True
    boundary = not before or before in _BOUNDARY_BEFORE or before in _WEAK_LEFT
    clear = text[start] in surnames.CLEAR or surname_length(text[start:end]) == 2
    if clear and (end - start == 3 or _is_dict_name(text[start:end])):
        boundary = boundary or _after_institution(text, start, end)  # 内科温建华, not 局 + 官网
    return boundary and (not rest or bool(_WEAK_RE.match(rest)))


def _plain_three(word: str, sl: int) -> bool:
    """Three Han characters that can be a name: no word, no function or institution end,
    and an everyday surname (白, 那) does not start a word with the next character."""
    if len(word) != 3 or not all(_is_han(c) and c != "某" for c in word):
        return False
    if word[-1] in _FUNCTION or word[-1] in _INSTITUTION_ENDINGS or is_common_word(word):
        return False
    return not (sl == 1 and word[0] in surnames.AMBIGUOUS and is_common_word(word[:2]))


def _plain_given(chars: str) -> bool:
    """Two Han characters that are no common word, and start none with what follows."""
    return (
        len(chars) == 2
        and all(_is_han(c) and c != "某" and c not in _FUNCTION for c in chars)
        and not is_common_word(chars)
    )


def _non_name_prefix(word: str) -> bool:
    """Surname + first given character is a time, number or function word (周三, 何时)."""
    tag = _word_tags().get(word)
    return tag is not None and tag[:1] in _NON_NAME_TAGS and _freq().get(word, 0) >= _MIN_WORD_FREQ


def _given_length(text: str, start: int, sl: int) -> int:
    """How many given-name characters follow the surname at ``start`` (0: not a name).

    Two given characters are tried before one. A candidate is accepted when a title or
    speech verb follows it, when it sits in brackets, when a relation or role word
    precedes it, or when a function character follows it right after a boundary or a
    role word; never when it is a common non-name dictionary word, or starts with a
    time, number or function word.
    """
    after = start + sl
    first = text[after : after + 1]
    if not _is_han(first) or first == "某":
        return 0  # 王某, 张某某: already anonymised
    if sl == 1 and text[start : start + 2] in surnames.COMPOUND:
        return 0  # 尉迟: the compound surname's own candidate decides
    ambiguous = sl == 1 and text[start] in surnames.AMBIGUOUS
    left = _left_hit(text, start)
    three = text[start : after + 2]
    if _TITLE_RE.match(text[after + 2 :]) and _plain_three(three, sl):
        return 2  # 维修主管周天洋先生: three characters and a title
    if not left and _non_name_prefix(text[start : after + 1]):
        return 0  # 周三, 何时: a time or function word, unless a role word precedes it
    role = bool(_ROLE_RE.search(_CONNECTOR.sub("", text[max(0, start - _LEFT_WINDOW) : start])))
    boundary = start == 0 or text[start - 1] in _BOUNDARY_BEFORE
    boundary = boundary or _after_institution(text, start, start + sl + 2)
    before_weak = text[start - 1 : start] in _WEAK_LEFT
    verb = bool(_VERB_RE.search(_CONNECTOR.sub("", text[max(0, start - _LEFT_WINDOW) : start])))
    if ambiguous and not role and is_common_word(text[start : after + 1]):
        return 0  # 方式, 家属, 全区, 时间: a word, unless a role noun names the person
    for n in (2, 1):
        word = text[start : after + n]
        if len(word) != sl + n or not all(_is_han(c) and c != "某" for c in word[sl:]):
            continue
        if word[-1] in _INSTITUTION_ENDINGS or word[sl:] in _TITLES:
            continue  # 派出所, 王主任
        rest = text[after + n :]
        closing = _BRACKETS.get(text[start - 1 : start])
        strong = bool(closing and rest.startswith(closing)) or bool(_RIGHT_RE.match(rest))
        if rest[:2] in ("（系", "(系"):
            return n  # 龙浩然（系龙某之子）: a bracket that says who the person is
        weak = not rest or bool(_WEAK_RE.match(rest))
        if is_common_word(word):
            # 马力, 柏杨 are names too, but only between a role noun and a title or verb.
            if role and strong and not ambiguous:
                return n
            continue
        if strong and (not ambiguous or left or boundary):
            return n
        if strong and n == 2 and text[start - 1 : start] in _WEAK_LEFT:
            return n  # 请高秀丽主任: a preposition before, a title after
        if weak and (left if ambiguous else has_context(text, start, after + n)):
            return n
        if weak and ambiguous and n == 2 and boundary and _plain_given(word[1:]):
            return n  # 高海军：考虑: a boundary on both sides
        label = rest[:1] in "：:" and boundary and not is_common_word(word[:2])
        if label and n == 2 and not is_common_word(word):
            return n  # 高海军：考虑…: a speaker or a label at the start
        ends = not rest or rest[0] in "。！？；!?;"
        if ends and ambiguous and n == 2 and before_weak and _plain_given(word[1:]):
            return n  # 泄露给高海峰。: a preposition before, the sentence's end after
        if weak and n == 2 and _clear_start(text, start, sl):
            return n  # 女方慕容婉清，/ 儿媳冼丽娟无: a clear surname and two given characters
        if n == 2 and _between_words(text, start, after + n, sl, ambiguous):
            return n  # 经金文静查验, 由徐国强一方: a preposition before, a word after
        if not ambiguous and _clean_boundaries(text, start, after + n, sl):
            return n  # 责令陈毅限期, 导医黄雅洁劝解: dictionary words on both sides
    if left and ambiguous and _plain_given(text[after : after + 2]):
        return 2 if _is_han(text[after + 1 : after + 2]) else 0  # 就诊者易丹丹发生
    if role or (left and not ambiguous):
        # Only the left context: two given characters unless the second is a function word.
        second = text[after + 1 : after + 2]
        n = 2 if _is_han(second) and second not in _FUNCTION and second != "某" else 1
        word = text[start : after + n]
        if is_common_word(word) or word[-1] in _INSTITUTION_ENDINGS:
            return 0
        prefix = text[start : after + 1]
        if not role and is_common_word(prefix) and (verb or _word_tags()[prefix][:1] in "adv"):
            return 0  # 责令 + 施工方, 施工方 + 严格: an ordinary word after the context
        return n
    return 0


_ETHNIC = re.compile(rf"[{HAN}]{{2,6}}(?:[·•．・][{HAN}]{{2,6}})+")


def ethnic_spans(text: str) -> list[Span]:
    """Transliterated names joined by a middle dot (阿依古丽·买买提): all but the dots."""
    return [Span(m.start(), m.end(), "name", source="pattern") for m in _ETHNIC.finditer(text)]


_LIST_SEPARATORS = "、，,和与及跟同/ \u3000"


def list_neighbours(text: str, found: list[Span]) -> list[Span]:
    """Names listed next to names already found (张三、李四和王五): a surname and one or two
    given characters between list separators, added until nothing new is found."""
    names = [s for s in found if s.kind == "name"]
    seen = {(s.start, s.end) for s in names}
    out: list[Span] = []
    queue = list(names)
    while queue:
        span = queue.pop()
        for start in _after_separator(text, span.end), _before_separator(text, span.start):
            if start is None or any(a <= start < b for a, b in seen):
                continue
            sl = surname_length(text[start:])
            for n in (2, 1):
                end = start + sl + n
                word = text[start:end]
                if not sl or len(word) != sl + n or not all(_is_han(c) for c in word[sl:]):
                    continue
                after = text[end : end + 1]
                listed = not after or after in _LIST_SEPARATORS
                listed = listed or bool(_WEAK_RE.match(text[end:]) or _RIGHT_RE.match(text[end:]))
                listed = listed or (n == 1 and _word_after(text, end))  # 、陆彬长期
                if not listed and not (n == 2 and not _has_word(word[-1] + after)):
                    continue  # 李四参加: a full name ends the list, whatever verb follows
                if is_common_word(word) or "某" in word:
                    continue
                weak_sep = text[start - 1 : start] in "和与及跟同"
                ambiguous = sl == 1 and word[0] in surnames.AMBIGUOUS and len(word) > 2
                if weak_sep and ambiguous and is_common_word(word[1:]):
                    continue  # 内有 + 现金和薄一鸣
                new = Span(start, end, "name", keep=sl, source="list")
                out.append(new)
                seen.add((start, end))
                queue.append(new)
                break
    return out


def _after_separator(text: str, end: int) -> int | None:
    i = end
    while i < len(text) and text[i] in " \u3000":
        i += 1
    if i < len(text) and text[i] in _LIST_SEPARATORS:
        i += 1
        while i < len(text) and text[i] in " \u3000":
            i += 1
        return i if i < len(text) else None
    return None


def _before_separator(text: str, start: int) -> int | None:
    """Where a name ending right before the separator in front of ``start`` would begin."""
    i = start - 1
    if i < 1 or text[i] not in _LIST_SEPARATORS:
        return None
    j = i
    while j > 0 and _is_han(text[j - 1]) and i - j < 4:
        j -= 1
    # Try the longest name-shaped stretch: up to 4 characters before the separator.
    for k in range(j, i - 1):
        if surname_length(text[k:i]) and 2 <= i - k <= 4:
            return k
    return None
