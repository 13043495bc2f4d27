"""Out-of-scope topics: specific hotline topics fire; founders' incidental words do not."""

from __future__ import annotations

import pytest

from assistant.scope import ScopeThresholds, out_of_scope_topic, scope_topics, too_far
from indexing.tokenize_zh import fold


@pytest.mark.parametrize("question,topic", [
    ("深圳对文创企业员工的个税有没有优惠？", "税收优惠"),
    ("我想把户口迁到深圳", "户籍与落户"),
    ("广州有类似的补贴吗", "其他城市的政策"),
    ("今年申报截止日期是哪天", "申报时间与截止日期"),
    ("申报系统网址多少", "申报渠道与联系方式"),
    ("我们在园区租了两层楼，能申请房租补贴吗？", "房租与场地租金补贴"),
    ("銀行貸款的利息能貼嗎", "贷款与贴息"),
    ("杭州对数字创意企业的补贴标准是多少，跟深圳比哪个高？", "其他城市的政策"),
    ("申请孵化器那笔资助，要准备哪些材料？", "申报材料清单"),
    ("研发费用加计扣除的比例是多少", "税收优惠"),
    ("手游版号怎么申请", "游戏版号与内容审批"),
    ("我想落户深圳，这个政策能帮忙吗", "户籍与落户"),
    ("新加坡那边的政策怎么样", "港澳台及境外的政策"),
    ("孵化器那条要填的申报表在哪里下载？", "申报渠道与联系方式"),
    ("今年招了二十个应届生，有没有按人头给的招聘补贴", "招聘与用工补贴"),
    ("南山区自己有没有数字创意的扶持政策", "区级政策"),
    ("直播基地至少要多大面积才能申请", "申报条件的细节"),
    ("广州的呢", "其他城市的政策"),
    ("南山区有没有自己的数字创意配套细则？区里能再补多少", "区级政策"),
    ("文博会的门票在哪里买？", "活动门票与参展费用"),
    ("动画电影的公映许可证去哪里申请", "许可、审批与内容合规"),
    ("律师费和诉讼费政府能报销吗", "诉讼与法律费用"),
    ("出口信用保险 保费补贴比例", "保险与保费补贴"),
    ("明年准备冲创业板，有没有上市奖励", "上市与挂牌奖励"),
    ("水电费补贴 文化企业", "水电与运营费用补贴"),
    ("玩家数据要传出境，数据出境安全评估怎么申报", "数据出境与个人信息合规"),
    ("小程序想接数字人民币支付", "支付与数字人民币"),
    ("数字藏品在二级市场转卖在国内合法吗", "法律定性与权利归属"),
    ("那今年文博会几号开幕，我们想去参展", "活动日程与报名"),
    ("要是项目中途做不下去了，已经拿到的钱要退回去吗？", "资金使用与追回"),
    ("一家公司同一年能同时报几个项目？有数量限制吗？", "申报程序细节"),
    ("旧厂房改成拍摄棚，消防验收要达到什么标准？", "环评、消防与能耗审批"),
    ("海外发行收回来的美元版权费，结汇有没有什么便利政策？", "外汇与海关"),
    ("区文化馆想采购我们的线上演出服务，有没有政府优先采购的规定？", "政府采购"),
    ("这里的资助能和国家、区里的同类补贴一起拿吗？", "多项政策叠加与重复申报"),
    # A district of the city between the city and the policy word (up to 16 characters in one clause).
    ("广州天河区对动漫游戏企业落户有什么奖励？", "其他城市的政策"),
    ("成都高新区对游戏企业研发投入的补贴比例是多少来着？", "其他城市的政策"),
])
def test_hotline_topics_outside_the_measure(question, topic):
    found = out_of_scope_topic(fold(question))
    assert found is not None and found.name == topic and found.advice


@pytest.mark.parametrize("question", [
    "我们给银行做数字展厅", "我们做文化网站", "办公地址在南山，做VR头显", "我们做医疗VR培训",
    "我们打算租一层楼给早期团队用，配导师", "香港一家游戏公司准备把总部搬到前海", "公司落户深圳的新引进企业有扶持吗",
    "把游戏卖到海外", "有效期什么时候截止", "孵化器最多能补多少",
    # An organisation settling in Shenzhen, an office set up abroad: in scope ((二十二), (十八)).
    "我们帮市里拉来了两家上下游伙伴落户深圳，听说带企业来有奖励", "明年准备在新加坡设个研发分部",
    "原创作品政府是怎么评的", "从北京挖来的美术总监",
    "我们在南山区做VR内容", "想发起一支投游戏的基金",
    # Places and tickets named in passing: a factory elsewhere, partners moving in, a business living on tickets.
    "我们做VR头显，工厂在东莞，研发团队在南山", "拉了两家伙伴从杭州搬过来落户", "靠门票和虚拟道具赚钱",
    "市里的政策支不支持各区自己搞这种园区",
    # A city, then a business moving to Shenzhen and its award: the award is the measure's (二十二).
    "我们介绍了三家上下游合作公司从外地搬来深圳注册，听说对这种带企业过来的有奖励", "各区能不能自己再出细则？我们在南山", "各区会不会出自己的实施办法",
])
def test_founders_incidental_words_are_not_out_of_scope(question):
    assert out_of_scope_topic(fold(question)) is None


def test_topics_are_documented_and_carry_no_amounts():
    from indexing.numerals import find_amounts_wan

    for topic in scope_topics():
        # A topic read by patterns alone (文件到期后的延续与替代: its words would be looked up in a document's text one by
        # one, and found) has no terms.
        assert (topic.terms or topic.patterns) and topic.advice
        assert not find_amounts_wan(topic.advice)


def test_too_far_needs_both_channels_low():
    thresholds = ScopeThresholds()
    assert too_far(thresholds.bm25 - 0.5, thresholds.dense - 0.01, thresholds)
    assert not too_far(thresholds.bm25 + 2, 0.5, thresholds) and not too_far(0.0, thresholds.dense + 0.01, thresholds)
