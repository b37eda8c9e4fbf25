"""Chinese first, English by a switch: the console's words, money in 元, times in China."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))
LANGS = ("zh-CN", "en")

WORDS = {
    "app": ("正版化管理平台", "Zhengban console"),
    "sign_in": ("登录", "Sign in"), "sign_out": ("退出", "Sign out"), "username": ("用户名", "Username"),
    "password": ("密码", "Password"), "home": ("首页", "Home"), "budget": ("预算", "Budget"),
    "summary": ("预算执行汇总", "Budget summary"), "campaigns": ("联合采购", "Joint purchases"),
    "orders": ("订单", "Orders"), "pools": ("授权池", "License pools"), "devices": ("设备", "Devices"),
    "compliance": ("正版化检查", "Compliance"), "language": ("English", "中文"),
    "lines": ("预算项目", "Budget lines"), "queue": ("待审批", "Awaiting approval"),
    "new_line": ("新建预算项目", "New budget line"), "org": ("单位", "Org"), "year": ("年度", "Fiscal year"),
    "category": ("类别", "Category"), "title": ("名称", "Title"), "quantity": ("数量", "Quantity"),
    "unit_price": ("单价（元）", "Unit price (元)"), "justification": ("特殊需求说明", "Justification"),
    "status": ("状态", "Status"), "requested": ("申请", "Requested"), "approved": ("批复", "Approved"),
    "pre_encumbered": ("预占", "Pre-encumbered"), "reserved": ("冻结", "Reserved"), "spent": ("支出", "Spent"),
    "available": ("可用", "Available"), "execution": ("执行率", "Execution"), "flags": ("提示", "Flags"),
    "above_cap": ("超过限价，需特殊需求", "above the cap: special need"), "create": ("创建", "Create"),
    "submit": ("提交审批", "Submit"), "approve": ("批准", "Approve"), "reject": ("驳回", "Reject"),
    "return": ("退回修改", "Return"), "amount": ("金额（元）", "Amount (元)"), "reason": ("理由", "Reason"),
    "note": ("意见", "Note"), "ledger": ("资金台账", "Ledger"), "history": ("操作记录", "History"),
    "when": ("时间", "When"), "who": ("操作人", "Who"), "what": ("操作", "What"), "kind": ("类型", "Kind"),
    "return_reason": ("退回理由", "Returned because"), "lead": ("牵头单位", "Lead"),
    "round": ("轮次", "Round"), "items": ("采购内容", "Items"), "cap": ("限价（元）", "Cap (元)"),
    "demand": ("汇总需求", "Aggregated demand"), "unified": ("统一价（元）", "Unified price (元)"),
    "savings": ("节约资金（元）", "Savings (元)"), "offers": ("报价", "Offers"),
    "your_offer": ("提交密封报价", "Your sealed offer"), "price": ("单价（元）", "Unit price (元)"),
    "send_offer": ("提交报价", "Send offer"), "standstill_until": ("公示期至", "Standstill until"),
    "supplier": ("供应商", "Supplier"), "product": ("产品", "Product"), "total": ("总数", "Total"),
    "allocated": ("已分配", "Allocated"), "next_expiry": ("最近到期", "Next expiry"),
    "allocate": ("分配席位", "Allocate a seat"), "assignee": ("设备或用户编号", "Device or user id"),
    "assignee_type": ("分配对象", "Assignee type"), "device": ("设备", "Device"), "user": ("用户", "User"),
    "allocations": ("分配记录", "Allocations"), "reclaim": ("回收", "Reclaim"),
    "as_of": ("截至日期", "As of"), "show": ("查看", "Show"), "download_csv": ("下载 CSV", "Download CSV"),
    "download_xlsx": ("下载 Excel", "Download Excel"), "computers": ("电脑台数", "Computers"),
    "genuine": ("正版", "Genuine"), "non_genuine": ("非正版", "Non-genuine"),
    "unlicensed": ("未授权设备", "Devices without a licence"), "asset_tag": ("资产编号", "Asset tag"),
    "hostname": ("主机名", "Hostname"), "last_seen": ("最近上报", "Last seen"), "none": ("暂无", "None yet"),
    "reclaim_run": ("按闲置回收", "Reclaim by inactivity"), "inactive_days": ("闲置天数", "Inactive days"),
    "max_seats": ("最多回收", "At most"), "dry_run": ("仅预览", "Preview only"), "run": ("执行", "Run"),
    "transfer": ("调配空闲席位", "Transfer idle seats"), "to_org": ("调入单位", "To org"), "seats": ("席位", "Seats"),
    "welcome": ("欢迎", "Welcome"), "signed_in_as": ("当前用户", "Signed in as"), "done": ("已完成", "Done"),
    "render": ("页面", "Page"), "roles": ("角色", "Roles"), "agreement": ("框架协议", "Agreement"),
    "unit_price_short": ("单价", "Unit price"), "chart": ("图示", "Chart"),
    "bad_login": ("用户名或密码不正确", "Wrong username or password"),
    "csrf": ("表单已过期，请刷新页面后重试", "This form has expired; reload the page and try again"),
}

# Problem types of the API as plain sentences next to the form.
PROBLEMS = {
    "no-seats-available": ("池中已无可分配的席位", "No seats available in this pool"),
    "approver-is-submitter": ("审批人不能是提交人", "The approver cannot be the submitter"),
    "insufficient-funds": ("预算可用余额不足", "The budget line does not have enough funds"),
    "price-above-cap": ("单价超过限价", "The unit price is above the cap"),
    "price-above-special-cap": ("单价超过特殊需求限价", "The unit price is above even the special-need cap"),
    "price-raised": ("谈判中报价只能持平或降低", "In negotiation a price may only stay or fall"),
    "offers-closed": ("当前不接受报价", "Offers are not being taken now"),
    "approved-above-requested": ("批复金额不能超过申请金额", "The approved amount cannot exceed the request"),
    "invalid-status": ("当前状态下不能进行此操作", "This cannot be done in the object's current state"),
    "forbidden": ("您没有此操作的权限", "You may not do this"),
    "not-found": ("找不到该对象，或不在您的管辖范围内", "Not found, or outside your organisation"),
    "validation-error": ("填写的内容有误，请检查", "Some fields are not valid; please check them"),
    "already-reclaimed": ("该席位已回收", "This seat was already reclaimed"),
    "not-enough-idle-seats": ("空闲席位不足", "Not enough idle seats"),
    "rate-limited": ("操作过于频繁，请稍后再试", "Too many requests; try again shortly"),
}

STATUSES = {
    "draft": ("草稿", "Draft"), "submitted": ("待审批", "Submitted"), "approved": ("已批准", "Approved"),
    "rejected": ("已驳回", "Rejected"), "closed": ("已关闭", "Closed"), "demand_open": ("需求征集中", "Demand open"),
    "demand_locked": ("需求已锁定", "Demand locked"), "tendering": ("报价中", "Tendering"),
    "negotiation": ("谈判中", "Negotiation"), "standstill": ("公示期", "Standstill"),
    "awarded": ("已授标", "Awarded"), "cancelled": ("已取消", "Cancelled"), "unsuccessful": ("流标", "Unsuccessful"),
    "pending_budget": ("待预算确认", "Waiting for budget"), "confirmed": ("已确认", "Confirmed"),
    "delivered": ("已交付", "Delivered"), "active": ("有效", "Active"), "reclaimed": ("已回收", "Reclaimed"),
    "retired": ("已报废", "Retired"),
}
CATEGORIES = {"os": ("操作系统", "Operating system"), "office": ("办公软件", "Office"),
              "antivirus": ("杀毒软件", "Antivirus"), "database": ("数据库", "Database"),
              "industrial_design": ("工业设计", "Industrial design"), "business": ("业务软件", "Business"),
              "other": ("其他", "Other")}


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGS:
        return cookie
    if accept_language and accept_language.strip().lower().startswith("en"):
        return "en"
    return "zh-CN"


class Words:
    def __init__(self, lang: str):
        self.lang = lang
        self.index = 0 if lang == "zh-CN" else 1

    def __call__(self, key: str) -> str:
        return WORDS.get(key, (key, key))[self.index]

    def status(self, value: str) -> str:
        return STATUSES.get(value, (value, value))[self.index]

    def category(self, value: str) -> str:
        return CATEGORIES.get(value, (value, value))[self.index]

    def problem(self, body: dict) -> str:
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        if slug in PROBLEMS:
            return PROBLEMS[slug][self.index]
        return body.get("detail") or body.get("title") or slug


def yuan(fen: int | None) -> str:
    """Integer fen as 元 with two decimals and thousands separators: 123456 → 1,234.56."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def china_time(value: str | datetime | None) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
