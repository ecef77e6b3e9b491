"""Page clutter in feed and article text: banners, captions and credits, navigation lines, end markers, datelines.

One multilingual detector: strip_clutter cleans a text, is_clutter judges one unit, has_clutter checks a summary;
dateline_length measures the report's own place and day at the start of a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.text.scripts import HAN as _HAN
from bot.text.scripts import HANGUL as _HANGUL
from bot.text.sentences import collapse_spaces, split_paragraph, split_paragraphs, split_sentences

__all__ = ["dateline_length", "has_clutter", "is_clutter", "strip_clutter", "strip_dateline"]


# --- clutter detection ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """A clutter pattern; `max_len` > 0 limits it to units that short (labels, not sentences)."""

    pattern: re.Pattern[str]
    max_len: int = 0


def _rule(pattern: str, max_len: int = 0) -> _Rule:
    """A case-insensitive clutter rule."""
    return _Rule(re.compile(pattern, re.IGNORECASE), max_len)


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_AGENCY = (
    r"(?:getty(?: images)?|afp|ap|epa|reuters|bloomberg|yonhap|xinhua|kyodo|shutterstock|alamy|sipa|zuma"
    r"|nurphoto|imaginechina|anadolu|efe|ansa|dpa|kcna|rfa)"
)

# Banners: cookie and consent dialogs, donation and paywall appeals, browser notices. Where an article has
# several paragraphs, one such sentence marks its whole paragraph as banner text.
_BANNER_RULES: tuple[_Rule, ...] = (
    # Cookie banners: "cookie" together with the vocabulary of a consent dialog. News about cookies (the
    # food) lacks that vocabulary.
    _rule(
        r"^(?=.*\bcookies?\b)(?=.*\b(?:we|our|you|your|site|website|browser|consent|accept|preferences?|settings"
        r"|necessary|functional|analytic(?:al|s)?|performance|advertis\w*|third[- ]party|display|store|stored"
        r"|policy|help|visitors?|metrics|track\w*|data|collect\w*|categor\w*|enabl\w*|experience)\b)"
    ),
    # Consent and privacy dialogs without the word cookie.
    _rule(
        r"\b(?:consent preferences|manage (?:your )?(?:consent|preferences|privacy|cookies)|privacy (?:settings"
        r"|preferences|center|centre)|accept all|reject all|always active|we value your privacy|(?:by|if you)"
        r" continu(?:e|ing) (?:to )?(?:use|using|brows\w*)|you (?:agree|consent) to (?:our|the) (?:use|terms"
        r"|privacy))\b"
    ),
    _rule(r"쿠키.{0,30}(?:사용|동의|수집|허용|설정|정책)|(?:사용|동의|수집|허용|설정).{0,10}쿠키"),
    _rule(r"개인\s?정보.{0,20}(?:수집|이용|처리).{0,10}동의"),
    _rule(r"(?:使用|接受|同意|启用|允许).{0,10}(?:cookies?|小型文本文件)|cookies?.{0,20}(?:使用|同意|接受|设置|政策)"),
    # Donation, membership and paywall appeals: the outlet asking its readers for money or a sign-in.
    # "support from the UN" or "donations of evidence" name no outlet ("our"), so they stay.
    _rule(
        r"\bsupport (?:our|independent|quality|local|public[- ]interest|fearless|non-?profit) "
        r"(?:journalism|reporting|newsroom|journalists)\b"
    ),
    _rule(r"\bsupport our (?:work|mission)\b.{0,40}\b(?:donat|contribut|member|subscri)"),
    _rule(r"\b(?:donate|contribute|give) (?:now|today|here|monthly)\b"),
    _rule(
        r"^(?=.*\bour (?:readers|journalism|reporting|journalists|newsroom|subscribers)\b)"
        r"(?=.*\b(?:support\w*|contribut\w*|donat\w*|fund\w*|members?(?:hip)?|subscri\w*|pay\w*|free|heroes"
        r"|hero|help|responded)\b)"
    ),
    _rule(r"\b(?:become|be) an? (?:subscriber|supporter|patron|insider|paying member)\b|\bmember (?:today|now)\b"),
    _rule(r"^\W*be an? [\w ]{0,20}(?:insider|member|supporter|subscriber|hero)\W*$"),
    _rule(r"\bkeep [\w ]{1,40} free (?:for|to) (?:all|everyone|read)\b"),
    _rule(
        r"\b(?:already a subscriber|subscribe (?:now|today|here)|subscribers? only|for subscribers|unlimited "
        r"access|(?:log|sign) ?in to (?:read|continue|comment|access)|create a (?:free )?account|start your "
        r"(?:free )?trial|free trial)\b"
    ),
    _rule(r"\b(?:pre-?order(?:ing)?|order your copy|buy (?:a|your) copy|for every copy sold)\b"),
    _rule(r"\b(?:shop|buy|order|get it) now\b", 40),
    _rule(
        r"후원\s?(?:하기|해\s?주세요|해주십시오|회원|계좌|신청|하러)|(?:독자|여러분).{0,15}후원|정기\s?후원"
        r"|(?:기자|기사|언론사?)\s?후원|구독\s?(?:하기|신청)|(?:채널|기자)\s?구독|유료\s?(?:회원|구독)"
    ),
    _rule(r"打赏|赞赏(?:作者|支持)|支持我们|请(?:您)?支持本|成为(?:会员|订户)|订阅(?:我们|本)"),
    # Browser and JavaScript notices.
    _rule(
        r"\b(?:ie|internet explorer)\s*\d*\s*(?:is|are)?\s*not (?:supported|compatible)\b|\b(?:your|this) "
        r"browser (?:is|does)\b|\b(?:update|upgrade) your browser\b|\b(?:enable|turn on) javascript\b"
        r"|\bjavascript (?:is )?(?:disabled|required)\b|\bfor an optimal experience\b|\bbest viewed (?:in|with)\b"
        r"|\b(?:supported|different|another|modern|newer) browser\b"
    ),
    _rule(
        r"브라우저.{0,30}(?:지원|업데이트|업그레이드|권장|최적화)|익스플로러.{0,20}(?:지원|종료)|자바스크립트.{0,15}(?:활성|사용)"
    ),
    _rule(r"浏览器.{0,20}(?:不支持|升级|更新|版本过低|推荐|建议)|(?:启用|开启)\s?javascript"),
)

# Photo captions and credits. A caption paragraph ends in its credit (or opens with a caption mark);
# strip_clutter drops the whole paragraph then. "photos of the detainees" has no colon, slash or agency
# name, so it stays.
_CREDIT_RULES: tuple[_Rule, ...] = (
    _rule(
        rf"\bvia getty(?: images)?\b|\bgetty images\s*$|/\s*{_AGENCY}\b|\b{_AGENCY}\s*(?:photo\b|/)"
        rf"|\b{_AGENCY}\s+via\s+{_AGENCY}\b|\bvia {_AGENCY}\s*$"
    ),
    _rule(
        r"^\W*(?:photos?|photograph|photographer|images?|picture|illustration|graphic|credit|file photo"
        r"|video)\s*(?::|by\b|credit\b|source\b|=|\|)|^\W*(?:image source|image caption|media caption"
        r"|caption)\s*[:,]"
    ),
    _rule(r"[(\[]\s*(?:photos?|photograph|images?|picture|file|video)\s*(?::|by\b|credit|courtesy|source|=)"),
    _rule(r"\b(?:photographer|photo credit|image credit|image source|picture credit)\s*:"),
    # "(AAP Image/Jane Roe)", "[Xinhua Photo/Li Ming]": an agency's picture credit in brackets.
    _rule(r"[(\[（]\s*[\w .&-]{0,30}\b(?:photo|image|picture)s?\s*[/:／：]"),
    _rule(r"\b(?:in this|a) (?:file|handout) (?:photo|picture|image)\b|\bhandout (?:photo|picture|image)\b"),
    _rule(rf"[(\[（]\s*(?:{_AGENCY}|file|연합뉴스|뉴스1|뉴시스|新华社|中新社)\s*(?:photo|사진|图)?\s*[)\]）]\s*$"),
    _rule(
        r"사진\s?(?:제공|출처|촬영)?\s?[=:]|자료\s?사진|^\W{0,2}[▲△▶▷]|(?:연합뉴스|게티이미지|뉴스1|뉴시스)"
        r"\s?(?:자료\s?)?사진|/\s?(?:연합뉴스|뉴스1|뉴시스|로이터|게티이미지(?:코리아)?|연합)\S{0,10}\s*[)\]]?\s*$"
    ),
    # "图们" (Tumen) starts with 图 too, so only credit forms with 图 are listed, never 图 alone.
    _rule(
        r"图片来源|图源|图片来自|图片提供|图片由|^\W*图\s?[/／:：]|摄影\s?[:：/／]|摄\s?[:：]|^\W*(?:资料)?图为"
        r"|资料图片?\s?[:：]?|视觉中国|图虫创意|配图"
        # "（新华社记者 李明 摄）", "李明 摄": a photographer's credit closing a caption, or a line of its own.
        r"|[(（][^()（）]{0,30}\s摄\s?[)）]\s*$|^\W*[\u4e00-\u9fff·]{2,12}(?:\s?/\s?[\u4e00-\u9fff]{2,8})?\s摄\W*$"
        r"|[/／]\s?(?:路透社?|法新社|美联社|新华社|盖蒂图片社?|东方IC|视觉中国|韩联社)"
    ),
)

_RULES: tuple[_Rule, ...] = (
    *_BANNER_RULES,
    # A call-to-action button: a short phrase ending in an arrow ("Support us →", "Next ›").
    _rule(r"^[^.!?。！？]{1,40}?\s*(?:→|›|»|>>|▶)\s*$"),
    *_CREDIT_RULES,
    # Copyright lines.
    _rule(r"[©ⓒ]|\(c\)\s*\d{4}|\bcopyright\s*(?:\d{4}|\(c\))|\ball rights reserved\b"),
    _rule(r"\b(?:may|must) not be (?:reproduced|republished|redistributed|rewritten)\b"),
    _rule(r"저작권자|무단\s?(?:전재|복제|배포)|재배포\s?(?:및\s?)?금지|AI\s?학습.{0,10}금지"),
    _rule(r"版权所有|版权归|未经.{0,10}(?:许可|授权|同意).{0,10}(?:转载|使用|复制)|不得(?:转载|复制)|转载请|禁止转载"),
    # "Read more" and other links to elsewhere.
    _rule(
        r"^\W*(?:read more|read also|also read|see also|related(?: coverage| stories| articles| content)?"
        r"|recommended(?: reading| stories)?|watch|listen|more on this(?: story)?|more from [\w ]{1,30}"
        r"|most read|trending)\s*[:|»›>]"
    ),
    _rule(r"\b(?:continue reading|read more|keep reading|read the full (?:story|article|report))\b", 120),
    _rule(r"\b(?:click|tap) here\b"),
    _rule(r"(?:기사|전체|원문|전문|계속)\s?(?:더\s?)?(?:보기|읽기)|더\s?보기|기사\s?원문|바로\s?가기", 60),
    _rule(
        r"阅读全文|阅读原文|展开全文|查看(?:更多|全文|原文)|继续阅读|点击(?:查看|阅读|进入|这里|此处)"
        r"|更多(?:精彩|新闻|内容)|延伸阅读|相关阅读|推荐阅读"
    ),
    # Share and follow prompts.
    _rule(
        r"\bshare (?:this|the) (?:article|story|page|post|link)\b|\bshare (?:on|to|via|with) (?:facebook"
        r"|twitter|x|whatsapp|linkedin|telegram|reddit|email|e-mail|messenger|line|kakao\w*)\b|\b(?:copy|copied)"
        r" (?:the )?link\b|\blink copied\b|\bfollow us (?:on|at)\b|\b(?:download|get) (?:our|the) app\b"
        r"|\b(?:email|e-mail|tweet|follow|message) (?:him|her|them|us|me) (?:here|at|on)\b"
        r"|\blike us on facebook\b|\bshare this (?:story|article)\b|\b(?:send|email) this (?:page|article|story)"
        r"\b|\byou must (?:first )?(?:log|sign) ?in\b"
    ),
    _rule(
        r"(?:이\s?기사를|기사를)\s?공유|공유\s?하기|URL\s?복사|링크\s?복사|카카오(?:톡)?\s?(?:공유|보내기)"
        r"|페이스북\s?공유|트위터\s?공유|(?:카카오톡|카톡).{0,10}제보|제보\s?하기"
    ),
    _rule(
        r"分享(?:到|至)|微信扫(?:一扫|码)|扫(?:描|一扫)?(?:二维码|码)|关注我们的?(?:微信|公众号|微博|账号|频道|网站)"
        r"|(?:请|欢迎)关注|关注(?:公众号|微信号)|长按(?:识别|二维码)|(?:通过电子邮件)?发送给(?:朋友|好友)"
        r"|发送(?:此|本)页面|(?:必须|请|须|需要)先登录"
        r"|下载(?:客户端|app)|打开(?:app|客户端)"
    ),
    # Newsletter sign-ups.
    _rule(
        r"^(?=.*\b(?:our|the|this|free|daily|weekly|morning|evening)\s+(?:[\w-]+\s+)?newsletters?\b)"
        r"(?=.*\b(?:sign(?:ing)? up|subscribe|inbox|delivered|receive)\b)"
    ),
    _rule(
        r"\bsign up\b.{0,40}\b(?:newsletter|emails?|updates|alerts)\b|\bdelivered (?:straight |directly )?to "
        r"your inbox\b|\b(?:enter|your) email address\b"
    ),
    _rule(r"뉴스레터|이메일\s?구독|메일\s?(?:구독|받기)"),
    _rule(r"订阅.{0,10}(?:新闻|简报|邮件|电子报|通讯)|新闻简报|电子报"),
    # Comment prompts. "declined to comment" and "did not immediately comment" are news and stay.
    _rule(
        r"\b(?:leave|post|add|write|submit|load|view|show) (?:a |all |the )?comments?\b|\bin order to comment\b"
        r"|\bcomments? (?:are|is|has been|have been) (?:closed|disabled|moderated|turned off)\b|\bcommunity "
        r"(?:comments|guidelines)\b|\byour comment\b|\bjoin the (?:conversation|discussion)\b"
    ),
    _rule(r"^\W*\d*\s*comments?\s*(?:\(\d+\)|\d+)?\s*(?:[-–—:|].*)?$"),
    _rule(r"^\W*댓글\W*\d*\W*$|댓글\s?(?:쓰기|달기|작성하기|보기|입력|운영\s?원칙|정책)|로그인.{0,10}댓글"),
    # "拒绝发表评论" (declined to comment) is news: the prompts are short labels.
    _rule(r"发表评论|我要评论|查看评论|评论区|条评论|暂无评论|登录.{0,6}评论", 12),
    _rule(r"^\W*评论\W*\d*\W*$"),
    # Advertisement markers.
    _rule(
        r"^\W*(?:advertisement|advertising|ads?|sponsored(?: content| post)?|paid (?:content|post|partnership)"
        r"|promoted|partner content|광고|협찬|广告|推广|赞助内容)\W*$"
    ),
    _rule(r"\b(?:story|article) continues (?:below|after)\b|\bscroll (?:down )?to continue\b"),
    # Bylines, author bios and contact lines (the dateline inside a lead sentence is cut, not dropped).
    _Rule(
        re.compile(
            r"^(?i:by|written by|words by|text by)\s+[A-Z][\w.'’-]*(?:\s+(?:and\s+)?[A-Z][\w.'’-]*){0,4}"
            r"(?:\s*[,|/]\s*[A-Z][\w&]*(?:\s+[A-Z][\w&]*){0,3})?\s*$"
        )
    ),
    _Rule(
        re.compile(
            r"^[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3} (?:is|was) an? (?:[\w-]+\s+){0,4}(?:reporter|correspondent"
            r"|journalist|writer|editor|columnist|contributor|producer|freelancer)\b.*\b(?:covering|who covers"
            r"|covers|based in|graduated|writes about|has reported)\b"
        )
    ),
    _rule(r"^\W*about the authors?\W*$"),
    _rule(r"^[가-힣]{2,4}\s?(?:기자|특파원|통신원|객원기자)\s*(?:[\w.+-]+@[\w.-]+)?\s*$"),
    _rule(r"[\w.+-]+@[\w-]+\.[\w.]+", 80),
    _rule(r"^\W*(?:记者|编辑|责任编辑|责编|作者|撰文|文|来源|编译|校对|审核|出品)\s?[:：|/／]", 60),
    # Publication metadata lines: timestamps, reading time, "Updated: ...".
    _rule(rf"^\W*(?:updated|published|posted|last updated|first published|modified)\s*(?::|on\b|at\b|\d|{_MONTH})", 80),
    _rule(r"^\W*\d{1,2}:\d{2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?\s*[a-z]{0,4}\W*$"),
    _rule(r"^\W*\d+\s*(?:min|mins|minute|minutes)\.?\s*(?:read|listen|watch)\W*$"),
    _rule(
        rf"^\W*(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s*)?(?:{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+"
        rf"{_MONTH}\s+\d{{4}}|\d{{4}}\s*[-./년年]\s*\d{{1,2}}\s*[-./월月]\s*\d{{1,2}}\s*[일日]?)(?:[\s,]+\d{{1,2}}"
        r":\d{2}.{0,12})?\W*$"
    ),
    _rule(r"^\W*(?:입력|수정|등록|업데이트|기사\s?입력|최종\s?수정|송고)\s*[:：]?\s*\d{4}"),
    _rule(r"^\W*(?:发布时间|发布于|更新时间|发表时间|时间)\s*[:：]?\s*\d{4}"),
    _rule(r"^\W*listen to (?:this|the) (?:article|story)\b"),
    # Content warnings addressed to the reader, not part of the report.
    _rule(r"^\W*warning:\s*this (?:story|article|video|report) contains\b|\bsome readers may find\b"),
    # Blog feeds: "The post <title> appeared first on <site>."
    _rule(r"\bappeared first on\b"),
    # Reporting credits and correction notes at the end of wire stories.
    _rule(r"^\W*(?:additional |writing and )?(?:reporting|writing|editing|compiled|produced) by\b"),
    _rule(r"\bcontributed (?:to )?(?:this|the) (?:report|story|article)\b|\bcontributed reporting\b"),
    _rule(r"^\W*this (?:article|story|report) (?:was|has been) (?:updated|amended|corrected|originally published)"),
    _rule(r"^\W*[(（](?:끝|完)[)）]\W*$|[(（]编辑[:：]?\s?\S{0,8}[)）]\s*$"),
)

# Whole lines made only of navigation and sharing words ("Share Facebook Twitter Email", "Related Topics",
# "Updated:", "0:00", "공유하기", "分享到 微信 微博") are page furniture, never news.
_UI_WORDS = frozenset(
    {
        "share", "shares", "sharing", "this", "article", "story", "on", "via", "to", "facebook", "twitter", "x",
        "whatsapp", "linkedin", "telegram", "reddit", "pinterest", "flipboard", "email", "e", "mail", "print",
        "copy", "link", "tweet", "comments", "comment", "advertisement", "sponsored", "updated", "published",
        "author", "authors", "related", "topics", "listen", "read", "more", "min", "menu", "search", "close",
        "subscribe", "sign", "up", "in", "log", "login", "register", "next", "previous", "back", "top",
        "home", "payment", "options", "always", "active", "save", "bookmark", "follow", "us", "gift",
        "audio", "video", "photos", "gallery", "skip", "content", "main", "navigation", "toggle",
        "공유", "공유하기", "페이스북", "트위터", "카카오톡", "카카오스토리", "밴드", "네이버", "블로그", "url",
        "복사", "인쇄", "프린트", "스크랩", "글자크기", "닫기", "댓글", "좋아요", "추천", "구독", "관련기사",
        "이메일", "기사", "저장",
        "分享", "分享到", "微信", "微博", "qq", "qq空间", "朋友圈", "打印", "关闭", "评论", "收藏", "点赞",
        "相关新闻", "返回顶部", "字号", "大", "中", "小",
    }
)  # fmt: skip
_UI_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_UI_MAX_TOKENS = 8

# Clutter that marks the end of an article: what follows it (author bio, promotions, related links, a
# donation drive) is page furniture even where no rule recognises it sentence by sentence.
_END_MARKERS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\W*(?:additional |writing and )?(?:reporting|writing|editing) by\b",
        r"\bcontributed (?:to )?(?:this|the) (?:report|story|article)\b",
        # A copyright line, not a photo credit ("© Name / Getty Images" opens many articles).
        r"[©ⓒ]\s*(?:\d{4}|copyright)|\ball rights reserved\b|\bcopyright\b",
        r"저작권자|무단\s?(?:전재|복제|배포)|재배포\s?(?:및\s?)?금지|版权所有|不得(?:转载|复制)|转载请|禁止转载",
        r"^\W*\d*\s*comments?\s*(?:\(\d+\)|\d+)?\s*(?:[-–—:|].*)?$|\bin order to comment\b"
        r"|\b(?:leave|post|add) (?:a )?comment\b",
        r"^\W*(?:related topics|about the authors?|authors?)\W*$",
        r"^\W*[(（](?:끝|完)[)）]\W*$",
    )
)
_END_MIN_KEPT = 200  # an end marker counts only after this much article text, so a header line never empties a page


def _is_ui_line(unit: str) -> bool:
    """Whether `unit` is a short line made only of navigation/sharing words and numbers."""
    tokens = _UI_TOKEN.findall(unit.lower())
    if not tokens or len(tokens) > _UI_MAX_TOKENS or all(t.isdigit() for t in tokens):
        return False  # "1." numbering a list is not furniture
    return all(t in _UI_WORDS or t.isdigit() for t in tokens)


def is_clutter(sentence_or_paragraph: str) -> bool:
    """Whether the text is page clutter (banner, appeal, credit, prompt, byline, notice) in en/ko/zh."""
    unit = collapse_spaces(sentence_or_paragraph)
    if not unit:
        return False
    if _is_ui_line(unit):
        return True
    return any((not rule.max_len or len(unit) <= rule.max_len) and rule.pattern.search(unit) for rule in _RULES)


_CAPTION_START = re.compile(
    r"^\W{0,2}[▲△]|^\W*(?:image caption|media caption|caption|photo|photograph)\s*[:,]|^\W*(?:资料)?图为",
    re.IGNORECASE,
)


def _is_banner(sentence: str) -> bool:
    """Whether a sentence belongs to a cookie, consent, donation, paywall or browser banner."""
    unit = collapse_spaces(sentence)
    return any(rule.pattern.search(unit) for rule in _BANNER_RULES)


def _is_caption(sentences: Sequence[str]) -> bool:
    """Whether a paragraph's sentences form a photo caption: it ends in a credit or opens with a caption mark."""
    if not sentences:
        return False
    last = collapse_spaces(sentences[-1])
    credit = "©" in last or "ⓒ" in last or any(rule.pattern.search(last) for rule in _CREDIT_RULES)
    # A credit that opens the last sentence is followed by article text (flattened), not a caption's end.
    return (credit and not _after_credit(last)) or bool(_CAPTION_START.match(sentences[0]))


def _is_end_marker(unit: str) -> bool:
    """Whether a clutter unit marks the end of the article proper."""
    return any(p.search(unit) for p in _END_MARKERS)


def _join_sentences(sentences: Sequence[str]) -> str:
    """Sentences joined as they were: no space after a full-width end (Chinese), one space otherwise."""
    out = ""
    for sentence in sentences:
        if out and not re.search(r"[。！？][”’」』）)]*$", out):
            out += " "
        out += sentence
    return out


# A link to the rest of the article glued to the end of a teaser's last sentence ("... in France Continue
# reading...", "… [+1234 chars]"): cut off, the sentence kept.
_TAIL_LINK = re.compile(
    r"\s*(?:(?:continue reading|read more|keep reading|read the full (?:story|article)|(?:kindly )?share this "
    r"(?:story|article))\s*(?:\.{2,}|…|»|›|→|>>)?"
    r"|기사\s?더\s?보기|더\s?보기|전문\s?보기|(?:请?点击)?(?:阅读全文|查看全文|展开全文)"
    r"|\[(?:…|\.{3}|\+\d+ chars)\])\s*$",
    re.IGNORECASE,
)


def _untail(sentence: str) -> str:
    """`sentence` without a trailing read-more link; '' when it was nothing else."""
    return _TAIL_LINK.sub("", sentence).strip()


_BLOCK_SENTENCES = 6  # a banner or caption block is short; a longer paragraph is flattened article text
# A credit inside a sentence means a caption (and often the headline) was flattened into the text before
# the article's first words; up to this far in, what precedes the credit is taken for that page furniture.
_CREDIT_PREFIX = 400
_FLAT_CAPTION_CHARS = 800  # a headline and a long caption above the credit that closes them
_RESCUED_MIN = 40  # what follows a credit must be this long to be a sentence of the article


def _after_credit(sentence: str) -> str:
    """The text after photo credits that open `sentence` (a caption flattened into the text), else ''."""
    rest = sentence
    for _ in range(3):
        ends = [m.end() for rule in _CREDIT_RULES if (m := rule.pattern.search(rest)) and 0 < m.end() <= _CREDIT_PREFIX]
        if not ends:
            break
        rest = rest[max(ends) :].lstrip(" )]）】|,;:-—–")
    if rest == sentence or len(rest) < _RESCUED_MIN or is_clutter(rest):
        return ""
    return rest


_CAPTION_SENTENCES = 3  # a caption above its own credit line: a few sentences, never a stretch of article
_CREDIT_LINE_CHARS = 120  # "Photographer: Jane Roe/Bloomberg via Getty Images" and its kind are short


def _is_credit_line(paragraph: str) -> bool:
    """Whether a paragraph is only a photo credit ("Photo: Jane Roe/AFP", "사진=게티이미지", "李明 摄")."""
    unit = collapse_spaces(paragraph)
    # A credit line is one unpunctuated label: "A watchtower at the river. Jane Roe / AFP" is a whole caption.
    if len(unit) > _CREDIT_LINE_CHARS or re.search(r"[.!?。！？]$", unit) or len(split_paragraph(unit)) > 1:
        return False
    if _after_credit(unit):
        return False
    return any(rule.pattern.search(unit) for rule in _CREDIT_RULES)


def strip_clutter(text: str) -> str:
    """`text` without clutter paragraphs and sentences, the rest in order, one paragraph per line.

    A photo caption is a block: a paragraph that ends in a credit or opens with a caption mark, or a
    short one whose next paragraph is a credit alone (caption and credit set as two blocks), is dropped
    whole, so its place and date never reach the facts."""
    paragraphs = split_paragraphs(text, "en")
    several = len(paragraphs) > 1
    credit_lines = [_is_credit_line(p) for p in paragraphs] if several else [False] * len(paragraphs)
    kept: list[str] = []
    kept_chars = 0
    for index, paragraph in enumerate(paragraphs):
        sentences = [u for s in split_paragraph(paragraph) if (u := _untail(s))]
        if not sentences:
            continue
        flags = [is_clutter(s) for s in sentences]
        block = len(sentences) <= _BLOCK_SENTENCES
        if block and kept_chars >= _END_MIN_KEPT and flags[0] and _is_end_marker(sentences[0]):
            break  # the article is over: bios, promotions and related links follow
        if several and _is_caption(sentences):
            continue  # a caption among paragraphs: "... city of Dandong in September. Name / AFP via Getty"
        if credit_lines[index]:
            continue  # a credit alone: clutter whatever stands before it
        if index + 1 < len(paragraphs) and credit_lines[index + 1] and len(sentences) <= _CAPTION_SENTENCES:
            continue  # the caption above a credit line of its own
        if several and block and any(f and _is_banner(s) for s, f in zip(sentences, flags, strict=True)):
            continue  # a banner's other sentences ("These tools count visitors") are banner text too
        if block and sum(flags) * 2 > len(sentences):
            continue  # mostly clutter: its remaining sentences belong to the same widget
        out: list[str] = []
        ended = False
        for sentence, flag in zip(sentences, flags, strict=True):
            if not flag:
                out.append(sentence)
                kept_chars += len(sentence)
                continue
            if kept_chars >= _END_MIN_KEPT and _is_end_marker(sentence):
                ended = True
                break
            rescued = _after_credit(sentence)
            if rescued:
                if not kept and sum(len(u) for u in out) <= _FLAT_CAPTION_CHARS:
                    # At the top of the text, all before the credit is the headline and the caption it closed
                    # (a photo caption runs to several sentences): none of it is the report's text.
                    kept_chars -= sum(len(u) for u in out)
                    out.clear()
                elif out:
                    kept_chars -= len(out.pop())  # the caption that this credit closed
                out.append(rescued)
                kept_chars += len(rescued)
        if out:
            kept.append(_join_sentences(out))
        if ended:
            break
    return "\n".join(kept)


# --- datelines -----------------------------------------------------------------------------------------

# Datelines and wire bylines that open a lead sentence. They are cut from the sentence (the rest is the
# lead fact) and has_clutter reports a summary that still starts with one.
_DATELINES: tuple[re.Pattern[str], ...] = (
    # "SEOUL, Dec 7 (Reuters) - ", "HONG KONG — ", "WASHINGTON (AP) — ", "SEOUL, Oct. 13 (Yonhap) -- "
    re.compile(
        r"^[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3}(?:,\s*[A-Za-z][\w.' ]{0,30}?)?(?:\s*\([^()]{1,30}\))?"
        r"\s*(?:--|[-—–])\s+"
    ),
    # "Chennai, Jan 01: ", "Carrara [Australia], Jan 01 (ANI): ", "Washington D.C. [USA], Jan 1 (ANI): "
    re.compile(
        rf"^[A-Z][\w.' -]{{1,30}}(?:\s*\[[^\]]{{1,20}}\])?,\s*(?i:{_MONTH})\s*\d{{1,2}}(?:,\s*\d{{4}})?"
        r"\s*(?:\([^()]{1,20}\))?\s*(?::|--|[-—–])\s+"
    ),
    # "Mar 22, 2020 (LBO) – "
    re.compile(rf"^(?i:{_MONTH})\s*\d{{1,2}},\s*\d{{4}}\s*(?:\([^()]{{1,20}}\))?\s*(?::|--|[-—–])\s+"),
    # "BEIJING: "
    re.compile(r"^[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,2}:\s+(?=[A-Z\"“])"),
    # "Seoul, Oct 13 (Reuters) - "
    re.compile(rf"^[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,\s*[^()]{{0,25}}\((?i:{_AGENCY})\)\s*(?:--|[-—–])\s+"),
    # "(서울=연합뉴스) 김철수 기자 = ", "[서울=뉴시스]홍길동 기자 = ", "【베이징=뉴시스】"
    re.compile(r"^[(\[【<]\s*[^)\]】>]{1,20}=\s*[^)\]】>]{1,20}[)\]】>]\s*(?:[가-힣]{2,4}\s?(?:기자|특파원)\s*=?\s*)?"),
    # "홍길동 기자 = ", "[데일리NK 홍길동 기자] "
    re.compile(r"^[가-힣]{2,4}\s?(?:기자|특파원)\s*=\s*|^\[[^\]]{1,30}(?:기자|특파원)\]\s*"),
    # "【环球网报道】", "新华社北京10月13日电（记者张三）", "本报讯（记者 李四）"
    re.compile(r"^【[^】]{1,30}】\s*"),
    re.compile(
        r"^(?:[\u4e00-\u9fff]{1,12}(?:社|网|报|台|讯))?[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日(?:电|讯)\s*"
        r"(?:[（(][^）)]{0,30}[）)])?\s*"
    ),
    re.compile(r"^本报讯\s*(?:[（(][^）)]{0,30}[）)])?\s*"),
    # A page's timestamp flattened into the text: "Updated: 0:00 The Chinese regime ..."
    re.compile(
        rf"^(?i:updated|published|posted|last updated)\s*:?\s*(?:(?:\d{{1,2}}:\d{{2}}|\d{{1,4}}|(?i:{_MONTH})"
        r"|(?i:[ap]\.?m\.?|et|gmt|utc|kst|bst|edt|est))[\s,./-]*)*"
    ),
)


def dateline_length(line: str) -> int:
    """How many characters a dateline or wire byline takes at the start of `line` (0 when it has none):
    the report's own place and day, which bot.stories.facts does not take for the event's."""
    for pattern in _DATELINES:
        match = pattern.match(line)
        if match and match.end() < len(line):
            return match.end()
    return 0


def strip_dateline(sentence: str) -> str:
    """`sentence` without a leading dateline or wire byline; unchanged when it has none."""
    for pattern in _DATELINES:
        match = pattern.match(sentence)
        if match and match.end() < len(sentence):
            return sentence[match.end() :].lstrip()
    return sentence


def _script_language(text: str) -> str:
    """'ko' or 'zh' when Hangul or Han letters are present in quantity, else 'en' (for has_clutter)."""
    hangul = len(_HANGUL.findall(text))
    han = len(_HAN.findall(text))
    if hangul and hangul >= han * 0.5:
        return "ko"
    if han:
        return "zh"
    return "en"



def has_clutter(summary: str) -> bool:
    """Whether a summary holds clutter or still opens a sentence with a dateline (for quality benchmarks)."""
    if is_clutter(summary):
        return True
    for sentence in split_sentences(summary, _script_language(summary)):
        if is_clutter(sentence) or strip_dateline(sentence) != sentence:
            return True
    return False
