"""PIPL sensitive personal information (个人信息保护法 第二十八条) in columns of no PII type.

Biometrics, religious belief, specific identities, medical health, financial accounts,
whereabouts and tracks, and minors' information are *sensitive*: a column holding them is
proposed at L3 at least, so the default-deny floor makes its owner choose a masking rule
or justify keeping it. A category is recognised from the header (Chinese or English
words) or from the values (diagnoses and ICD-10 codes, religions, identity labels,
coordinate pairs). Evidence quotes counts and the category, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

VALUE_FRACTION = 0.3  # of non-empty values, excluding "none" words such as 无, 否, 健康

_HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "health": ("诊断", "病", "症", "健康", "体检", "医疗", "用药", "药物", "过敏", "残疾", "血型",
               "手术", "diagnos", "disease", "health", "medical", "icd", "allerg", "disab",
               "symptom", "medication"),
    "religion": ("宗教", "信仰", "religio", "faith"),
    "biometrics": ("指纹", "人脸", "面部", "虹膜", "声纹", "掌纹", "基因", "dna", "fingerprint",
                   "face", "iris", "biometric", "voiceprint", "genom"),
    "financial": ("收入", "工资", "薪", "余额", "存款", "资产", "负债", "贷款", "征信", "信用",
                  "扣除", "流水", "交易", "账户", "income", "salary", "wage", "balance", "credit",
                  "loan", "deposit", "debt", "transaction", "account"),
    "identity": ("救助", "低保", "特困", "优抚", "身份标签", "人群类别", "犯罪", "前科", "刑满",
                 "退役", "tag", "welfare", "criminal", "veteran"),
    "location": ("经纬", "坐标", "轨迹", "定位", "行踪", "地点", "位置", "gps", "latitude",
                 "longitude", "lat", "lng", "location", "trajectory", "coordinate"),
    "minors": ("未成年", "儿童", "留守", "少年", "幼儿", "学生", "minor", "child", "juvenile",
               "pupil", "student"),
}  # fmt: skip
_NONE_WORDS = frozenset("无 否 是 健康 正常 未见异常 不详 暂无 / - none no yes n/a".split())
_DISEASE = re.compile(
    r"病|症|炎|癌|瘤|综合征|障碍|感染|骨折|哮喘|糖尿|高血压|过敏|近视|残疾|结核|艾滋|HIV|抑郁|"
    r"焦虑|精神|衰竭|损伤|梗|中风|肿|结石|贫血|妊娠|孕|^[A-TV-Z]\d{2}(?:\.\d{1,3})?$"
)
_RELIGIONS = frozenset(
    "佛教 道教 伊斯兰教 基督教 天主教 东正教 藏传佛教 新教 犹太教 印度教 "
    "buddhism taoism islam christianity catholicism".split()
)
_IDENTITY = re.compile(
    r"低保|特困|残疾|五保|孤儿|退役|军人|烈属|优抚|刑满|社区矫正|吸毒|孕妇|独居|未成年"
)
_COORD = re.compile(r"^\s*-?\d{1,3}\.\d{4,}\s*[,，;\s]\s*-?\d{1,3}\.\d{4,}\s*$")
_VALUE_TESTS = {
    "health": lambda v: bool(_DISEASE.search(v)),
    "religion": lambda v: v.lower() in _RELIGIONS,
    "identity": lambda v: bool(_IDENTITY.search(v)),
    "location": lambda v: bool(_COORD.match(v)),
}


def _header_category(header: str) -> str | None:
    low = header.lower()
    ascii_tokens = set(re.findall(r"[a-z]+", low))
    for category, words in _HEADER_WORDS.items():
        for word in words:
            if word.isascii():
                # English words must start a token (lat, tag, face are short).
                if any(t.startswith(word) for t in ascii_tokens):
                    return category
            elif word in low:
                return category
    return None


def sensitive_category(header: str, values: Sequence[str | None]) -> tuple[str, str] | None:
    """``(category, evidence)`` when the column holds PIPL sensitive information."""
    present = [v.strip() for v in values if v and v.strip()]
    meaningful = [v for v in present if v.lower() not in _NONE_WORDS]
    for category, test in _VALUE_TESTS.items():
        hits = sum(test(v) for v in meaningful)
        if meaningful and hits >= VALUE_FRACTION * len(meaningful) and hits >= 3:
            return category, (
                f"PIPL sensitive ({category}): {hits}/{len(meaningful)} informative values match"
            )
    category = _header_category(header)
    if category is not None:
        return category, f"PIPL sensitive ({category}): the header names it"
    return None
