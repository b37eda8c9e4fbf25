"""Chinese first, English by a switch: the console's words, money in 元, times in China."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from markupsafe import Markup

from kernel import notices

CHINA = timezone(timedelta(hours=8))
LANGS = ("zh-CN", "en")

WORDS = {
    "app": ("正版化管理平台", "Zhengban console"),
    # Inspection (核查): the catalogue, the unrecognized queue, the import, compliance by title.
    "catalogue": ("软件目录", "Software catalogue"), "search_catalogue": ("按厂商或名称查找", "Vendor or name"),
    "software": ("软件名称", "Software"), "vendor": ("厂商", "Vendor"), "licensing": ("授权方式", "Licensing"),
    "domestic": ("国产", "Domestic"), "patterns": ("识别规则", "Recognition patterns"),
    "pattern": ("识别规则（正则表达式）", "Pattern (regular expression)"),
    "add_pattern": ("添加识别规则", "Add a pattern"),
    "pattern_help": ("规则按正则表达式在规范化后的软件名称中查找：小写、半角，去掉版本号、位数和语言标记，"
                     "中文与字母数字之间有空格。",
                     "A pattern is searched as a regular expression in the folded name: lowercase, half-width, "
                     "without versions, architecture or language tags, a space between Chinese and Latin."),
    "new_title": ("新增软件", "Add a title"), "edition_word": ("版本（如专业版）", "Edition (e.g. Professional)"),
    "map": ("归入", "Map"), "map_to": ("归入软件", "Map to"), "map_to_this": ("归入此软件", "This one"),
    "map_which": ("为以下软件名称选择目录中的软件：", "Pick the catalogue title of: "),
    "back_to_queue": ("返回未识别软件", "Back to the unrecognized names"),
    "other_title": ("其他软件…", "Another title…"), "pick_title": ("请选择软件", "Pick a title"),
    "mapped": ("已添加识别规则，清单将在一分钟内重新识别",
               "Pattern added; inventories are recognized again within a minute"),
    "unrecognized": ("未识别软件", "Unrecognized software"),
    "unrecognized_help": ("检测工具上报、目录中没有对应软件的名称（补丁、语言包、运行库、驱动不在此列），"
                          "按设备数排列。归入某个软件即为其添加识别该名称的规则。",
                          "Names the detection tools report that no catalogue title recognizes (updates, language "
                          "packs, runtimes and drivers left out), most devices first. Mapping one adds a pattern for "
                          "that name to the title."),
    "raw_name": ("上报的软件名称", "Name as reported"), "device_count": ("设备数", "Devices"),
    "inventory_import": ("清单导入", "Inventory import"),
    "upload_export": ("上传检测工具导出文件", "Upload a detection tool's export"),
    "export_file": ("文件（CSV 或 Excel）", "File (CSV or Excel)"), "import": ("导入", "Import"),
    "import_help": ("列：资产编号或主机名、软件名称、厂商、版本；CSV 可为 UTF-8 或 GB18030。"
                    "每台设备的软件清单以文件中的行替换。",
                    "Columns: asset tag or hostname, name, vendor, version; CSV in UTF-8 or GB18030. Each device's "
                    "software is replaced by its rows in the file."),
    "import_result": ("导入结果", "Import result"), "rows_ok": ("行成功", "rows imported"),
    "rows_error": ("行有误", "rows refused"), "row": ("行号", "Row"), "problem": ("问题", "Problem"),
    "pick_file": ("请选择要导入的文件", "Pick a file to import"),
    "file_too_large": ("文件过大（最大 32 MB）", "The file is too large (32 MB at most)"),
    # Imports of a kind's objects from a spreadsheet (one page for every kind) and downloads of lists.
    "imports": ("数据导入", "Data import"),
    "imports_blurb": ("从 Excel 或 CSV 表格批量导入", "Import from Excel or CSV spreadsheets"),
    "imports_help": ("选择要导入的数据。每类数据都有模板；表头可用中文或英文。",
                     "Pick what to import. Each kind has a template; headers in Chinese or English."),
    "import_devices": ("导入设备（登记造册）", "Import devices (asset register)"),
    "import_entitlements": ("导入授权（存量证书）", "Import entitlements (certificates held)"),
    "import_lines": ("导入预算项目", "Import budget lines"), "import_orgs": ("导入单位", "Import orgs"),
    "import_users": ("导入用户", "Import users"),
    "import_kind_help": ("按模板填写，每行一条，表头可用中文或英文；CSV 可为 UTF-8 或 GB18030。"
                         "文件中任何一行有误，则整个文件都不导入，并列出每一处错误。"
                         "同一文件再次导入不会重复创建：已有的记录更新或保持不变。",
                         "Fill in the template, a row each, headers in Chinese or English; CSV in UTF-8 or GB18030. "
                         "If any row is wrong nothing is imported, and every error is listed. Importing the same "
                         "file again creates nothing twice: existing records are updated or left unchanged."),
    "download_template": ("下载模板（Excel）", "Download the template (Excel)"),
    "upload_file": ("上传文件", "Upload a file"),
    "check_only": ("预检（不写入）", "Check only (writes nothing)"),
    "not_yours_to_import": ("您的角色不能导入此类数据", "Your roles cannot import this kind"),
    "preview_ok": ("预检通过，尚未写入任何数据。再次选择该文件并点击“导入”即写入。",
                   "The check passed; nothing was written. Pick the file again and press Import to write it."),
    "imported": ("导入完成", "Imported"), "checked": ("预检结果", "Check result"),
    "count_created": ("新建", "Created"), "count_updated": ("更新", "Updated"),
    "count_unchanged": ("不变", "Unchanged"),
    "row_errors": ("处错误，未导入任何数据", "error(s); nothing was imported"),
    "more_errors": ("其余错误未列出：请先改正以上各处后再试。",
                    "More errors are not listed: correct these and try again."),
    "column": ("列", "Column"), "error_code": ("错误代码", "Code"),
    "by_title": ("按软件", "By title"),
    "by_title_help": ("每个软件的安装与正版情况，及所持授权：使用中、闲置（装在未安装该软件的设备上，"
                      "应先回收）、未分配。",
                      "Each title's installs, genuine or not, and the seats held for it: in use, idle (on computers "
                      "without the title: reclaim these first), not allocated."),
    "installed": ("安装", "Installed"), "entitled": ("授权", "Seats"), "idle": ("闲置", "Idle"),
    "free": ("未分配", "Not allocated"),
    "licensing_commercial": ("商业软件：须持有该软件的授权才算正版。", "Commercial: genuine only with a seat of it."),
    "licensing_free": ("免费软件：无需授权即为正版。", "Free: genuine without a seat."),
    "licensing_personal_free": ("仅限个人免费：在单位电脑上为非正版。",
                                "Free for individuals only: non-genuine on a unit's computer."),
    "licensing_bundled": ("随机预装：登记为该设备预装时为正版，或持有授权。",
                          "Bundled: genuine where the device records it as pre-installed, or with a seat."),
    "catalogue_blurb": ("软件目录及其识别规则", "The software catalogue and its recognition patterns"),
    "unrecognized_blurb": ("未被识别的软件名称，一步归入目录中的软件", "Names no title recognizes, mapped in one step"),
    "inventory_import_blurb": ("导入检测工具的软件清单", "Import a detection tool's inventory"),
    "sso": ("统一身份认证登录", "Sign in with the unified identity system"),
    "sso_refused": ("统一身份认证登录未成功：该用户不存在、已停用，或登录请求已失效，请重试或联系管理员。",
                    "Single sign-on failed: the user is unknown or disabled, or the sign-in expired; "
                    "try again or ask your admin."),
    "users": ("用户管理", "Users"), "users_blurb": ("查找、创建、停用用户，分配角色，重置密码",
                                               "Find, create and disable users, give roles, reset passwords"),
    "audit": ("审计日志", "Audit log"), "audit_blurb": ("谁在何时从何处做了什么", "Who did what, when, from where"),
    "change_password": ("修改密码", "Change password"), "old_password": ("当前密码", "Current password"),
    "new_password": ("新密码", "New password"), "repeat_password": ("再次输入新密码", "New password again"),
    "passwords_differ": ("两次输入的新密码不一致", "The two new passwords differ"),
    "password_changed": ("密码已修改", "Password changed"),
    "password_change_required": ("您使用的是一次性密码，请先设置新密码。",
                                 "You signed in with a one-time password: choose a new one first."),
    "password_rules": ("至少 10 个字符，包含大写字母、小写字母、数字、其他字符中的至少 3 类，且不能与用户名相同。",
                       "At least 10 characters, of at least 3 of upper case, lower case, digits and other "
                       "characters, and not the username."),
    "temporary_password": ("一次性密码（只显示这一次）", "One-time password (shown this once)"),
    "search": ("搜索", "Search"), "display_name": ("姓名", "Name"), "email": ("电子邮箱", "E-mail"),
    "disabled": ("已停用", "Disabled"), "enabled": ("正常", "Active"),
    "disable": ("停用", "Disable"), "enable": ("启用", "Enable"), "reset_password": ("重置密码", "Reset password"),
    "save_roles": ("保存角色", "Save roles"), "new_user": ("新建用户", "New user"),
    "roles_needed": ("请至少选择一个角色", "Choose at least one role"),
    "orgs": ("单位管理", "Orgs"), "orgs_blurb": ("单位层级，新建下级单位，单位更名",
                                              "The org tree: add an org under another, rename one"),
    "new_org": ("新建单位", "New org"), "parent_org": ("上级单位", "Parent org"),
    "org_name": ("单位名称", "Org name"), "org_kind": ("单位类型", "Org kind"), "rename": ("更名", "Rename"),
    "new_name": ("新名称", "New name"), "sub_orgs": ("下级单位", "Sub-orgs"),
    "api_keys": ("API 密钥", "API keys"), "api_keys_blurb": ("供脚本和对接系统调用接口的密钥：设定有效期，可随时吊销",
                                                         "Keys for scripts and connected systems: with an expiry, "
                                                         "revocable at any time"),
    "new_api_key": ("新建 API 密钥", "New API key"), "key_name": ("密钥名称", "Key name"),
    "expires_on": ("有效期至", "Valid until"), "expires_help": ("留空则永不过期", "Leave blank: never expires"),
    "never_expires": ("永不过期", "Never expires"), "last_used": ("最近使用", "Last used"),
    "never_used": ("从未使用", "Never used"), "key_prefix": ("密钥前缀", "Prefix"),
    "created_by": ("创建人", "Created by"), "created_at": ("创建时间", "Created"), "revoke": ("吊销", "Revoke"),
    "api_key_created": ("API 密钥已创建。请立即复制保存，它只显示这一次：",
                        "API key created. Copy it now: it is shown this once:"),
    "bad_date": ("日期有误，应如 2027-06-30", "Not a date: write it as 2027-06-30"),
    "low_threshold": ("低余量预警线", "Low-seat threshold"),
    "low_threshold_help": ("可用席位低于此数时提醒（留空则不提醒）",
                           "Warn when available seats fall below (blank: never)"),
    "no_threshold": ("不提醒", "None"),
    "address": ("IP 地址", "Address"), "user_agent": ("客户端", "User agent"), "path": ("路径", "Path"),
    "result": ("结果", "Result"), "from": ("从", "From"), "to": ("至", "To"),
    "reason_wrong_password": ("密码错误", "wrong password"), "reason_unknown_user": ("无此用户", "unknown user"),
    "reason_locked": ("账号已锁定", "locked"), "reason_disabled": ("账号已停用", "disabled"),
    "reason_one_time_password_used": ("一次性密码已用过", "one-time password used"),
    "reason_too_many_failures_from_address": ("该地址失败次数过多", "too many failures from the address"),
    "reason_wrong_state": ("登录请求已失效", "sign-in request expired"),
    "reason_provider_refused": ("身份认证系统拒绝", "refused by the identity provider"),
    "audit_sign_in": ("登录", "Signed in"), "audit_sign_in_failed": ("登录失败", "Sign-in failed"),
    "audit_locked": ("账号锁定", "Locked"), "audit_sign_out": ("退出", "Signed out"),
    "audit_password_changed": ("修改密码", "Password changed"), "audit_password_reset": ("重置密码", "Password reset"),
    "audit_user_created": ("创建用户", "User created"), "audit_user_changed": ("修改用户", "User changed"),
    "audit_org_created": ("创建单位", "Org created"), "audit_org_renamed": ("单位改名", "Org renamed"),
    "audit_orgs_imported": ("导入单位", "Orgs imported"), "audit_users_imported": ("导入用户", "Users imported"),
    "audit_api_key_created": ("创建 API 密钥", "API key created"),
    "audit_api_key_revoked": ("吊销 API 密钥", "API key revoked"),
    "audit_signing_key_rotated": ("轮换签名密钥", "Signing key rotated"), "audit_request": ("业务操作", "Request"),
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
    "allocate": ("分配席位", "Allocate a seat"), "assignee": ("分配对象", "Assignee"),
    "assign_to_device": ("分配给设备", "Assign to device"),
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
    "navigation": ("主导航", "Main navigation"), "agreements": ("框架协议", "Agreements"),
    "queue_blurb": ("已提交、等待您审批的预算项目", "Budget lines submitted and waiting for your decision"),
    "lines_blurb": ("预算项目：编制、修改、退回后重新提交", "Budget lines: draft, edit, resubmit when returned"),
    "summary_blurb": ("按单位和类别的预算执行情况", "Execution per org and category"),
    "campaigns_blurb": ("联合采购：需求、报价、谈判、评审、授标",
                        "Joint purchases: demand, offers, negotiation, panel, award"),
    "agreements_blurb": ("授标后的框架协议：暂停、恢复、终止，及其下的订单",
                         "Framework agreements after an award: suspend, resume, terminate, and their orders"),
    "orders_blurb": ("框架协议下的订单", "Call-off orders under agreements"),
    "pools_blurb": ("授权池、分配与回收、调配", "License pools, allocations, reclaims and transfers"),
    "devices_blurb": ("设备登记与按闲置回收", "Devices and reclaim runs"),
    "compliance_blurb": ("某日的正版化情况及检查表下载", "Compliance at a date, with the inspection forms"),
    "see_all": ("查看全部", "See all"), "invitations": ("报价邀请", "Invitations"),
    "round_open": ("正在接受报价", "taking offers"), "your_work": ("您的工作", "Your work"),
    "next_page": ("下一页", "Next page"), "all": ("全部", "All"), "returned": ("已退回", "Returned"),
    "control": ("控制数", "Control figure"), "edit_line": ("修改预算项目", "Edit the line"), "save": ("保存", "Save"),
    "resubmit": ("重新提交", "Resubmit"), "decide": ("审批", "Decide"),
    "control_amount": ("控制数（元）", "Control figure (元)"), "issue_control": ("下达控制数", "Issue control figure"),
    "control_note": ("控制数说明", "Note on the control figure"),
    "winner": ("成交供应商", "Winner"),
    "sealed_note": ("报价在截止前密封，其他供应商看不到。",
                    "Offers stay sealed until offers close; no other supplier sees them."),
    "next_steps": ("采购操作", "Next steps"), "open_demand": ("开始征集需求", "Open demand"),
    "lock_demand": ("锁定需求", "Lock demand"), "invite": ("邀请供应商", "Invite suppliers"),
    "open_offers": ("开始报价", "Open offers"), "close_offers": ("截止报价", "Close offers"),
    "new_round": ("开启新一轮谈判", "Open another round"),
    "negotiation_reason": ("采用谈判方式的理由", "Why negotiation"),
    "award": ("授标", "Award"), "cancel_campaign": ("取消采购", "Cancel the campaign"),
    "declare_demand": ("申报需求", "Declare demand"), "budget_line": ("预算项目", "Budget line"),
    "evaluate": ("评审打分", "Evaluate"), "score": ("得分", "Score"), "recommend": ("推荐", "Recommend"),
    "demands": ("需求", "Demands"), "your_offers": ("我方报价", "Your offers"), "panel": ("评审小组", "Panel"),
    "complaints": ("质疑", "Complaints"), "resolution": ("处理意见", "Resolution"), "decision": ("结论", "Decision"),
    "resolve": ("处理", "Resolve"), "complaint": ("质疑内容", "Complaint"), "lodge_complaint": ("提出质疑", "Lodge"),
    "valid": ("有效期", "Valid"), "campaign": ("联合采购", "Joint purchase"),
    "manage_agreement": ("协议管理", "Manage the agreement"), "suspend": ("暂停", "Suspend"),
    "resume": ("恢复", "Resume"), "terminate": ("终止", "Terminate"),
    "terminate_sure": ("终止后不可恢复，未下单的需求预占将释放", "Cannot be undone; held demand is released"),
    "place_order": ("下单", "Place an order"),
    "actions": ("操作", "Actions"), "deliver": ("交付", "Deliver"), "cancel_order": ("取消订单", "Cancel"),
    "metric": ("计量方式", "Metric"), "system": ("系统", "System"),
    "bad_money": ("金额应为大于零的数字，单位为元", "An amount is a number of 元 above zero"),
    "money_decimals": ("金额最多保留两位小数（分）", "An amount has at most two decimals (fen)"),
    "bad_number": ("请填写整数", "Please enter a whole number"),
    "reason_needed": ("请填写理由", "Please give a reason"),
    "install_requests": ("软件安装申请", "Install requests"),
    "install_requests_blurb": ("申请安装或卸载软件；信息化管理员审批并分配授权",
                               "Ask for software to be installed or removed; IT admins decide and allocate the seat"),
    "request_software": ("申请软件", "Request software"),
    "no_devices_of_yours": ("尚无登记在您名下的电脑，请联系信息化管理员",
                            "No computer is registered to you yet: ask your IT admin"),
    "send_request": ("提交申请", "Send the request"), "requests_list": ("申请记录", "Requests"),
    "pool": ("授权池", "Pool"), "unknown_title": ("未知软件", "Unknown title"),
    "annual_reports": ("年度报告", "Annual reports"),
    "annual_reports_blurb": ("本单位年度正版化报告、下级单位报送情况与汇总",
                             "The org's annual report, its children's, and their roll-up"),
    "report_year": ("报告年度", "Year"), "due_at": ("报送截止", "Due"), "own_report": ("本单位报告", "Own report"),
    "late": ("逾期", "Late"), "responsible_person": ("负责人", "Responsible person"), "phone": ("联系电话", "Phone"),
    "submitted_at": ("报送时间", "Submitted"), "snapshot": ("正版化情况快照", "Snapshot"),
    "submit_report": ("报送", "Submit"), "notes": ("备注", "Notes"), "draft_report": ("起草报告", "Draft the report"),
    "children_reports": ("下级单位报送情况", "The children's reports"), "rollup": ("汇总", "Roll-up"),
    "reports_summed": ("汇总报告数", "Reports summed"),
    "report_missing": ("未报送", "Missing"), "report_draft": ("草稿", "Draft"),
    "report_submitted": ("已报送", "Submitted"),
    "findings": ("整改事项", "Findings"),
    "findings_blurb": ("审计发现的问题及限期整改", "What audits found, to be rectified by a due date"),
    "record_finding": ("登记整改事项", "Record a finding"), "description": ("问题描述", "Description"),
    "due_date": ("整改期限", "Due date"), "overdue": ("已逾期", "Overdue"),
    "due_soon": ("七日内到期", "Due within 7 days"), "open_later": ("整改中", "Open"),
    "reopen": ("重新整改", "Reopen"), "verify": ("核验通过", "Verify"),
    "rectification": ("整改说明", "Rectification"), "mark_resolved": ("整改完成", "Mark resolved"),
    "responsible_person_needed": ("请填写负责人", "Please name the responsible person"),
    "phone_needed": ("请填写联系电话", "Please give a phone number"),
    "description_needed": ("请填写问题描述", "Please describe the finding"),
    "transfers": ("预算调剂", "Budget transfers"), "evaluations": ("评审结果", "Evaluations"),
    "yes": ("是", "Yes"), "no": ("否", "No"),
    "transfers_blurb": ("同一单位同一年度已批准预算项目之间的资金调剂：申请与审批",
                        "Money moved between approved lines of one org and year: request and decide"),
    "request_transfer": ("申请调剂", "Request a transfer"), "from_line": ("调出项目", "From line"),
    "to_line": ("调入项目", "To line"), "requested_by": ("申请人", "Requested by"),
    "decided_by": ("审批人", "Decided by"), "edition": ("版本", "Edition"), "cap_is": ("限价", "cap"),
    "procurement_method": ("采购方式", "Procurement method"),
    "policies": ("预算政策", "Budget policies"),
    "policies_blurb": ("限价、采购限额、公示期、每台设备席位：生效值及其来源",
                       "Caps, thresholds, standstill, seats per device: the effective values and their sources"),
    "policy_field": ("项目", "Rule"), "value": ("取值", "Value"), "source": ("来源", "Source"),
    "default_from": ("默认", "Default"), "no_limit": ("不限", "No limit"), "inherit": ("继承", "inherited"),
    "own_policy": ("本单位政策", "This org's own policy"),
    "own_policy_blurb": ("留空的项目沿用上级单位或默认值；保存后替换本单位的全部设置。",
                         "Blank fields are inherited from above or the defaults; saving replaces this org's settings."),
    "caps": ("限价（元）", "Cap (元)"), "special_caps": ("特殊需求限价（元）", "Special-need cap (元)"),
    "edition_caps": ("分版本限价（元）", "Cap per edition (元)"),
    "seats_per_device": ("每台设备席位数", "Seats per device"),
    "os_needs_justification": ("操作系统须说明特殊需求", "An OS line needs a justification"),
    "decentralized_threshold_fen": ("分散采购限额（各年度，元）", "Decentralized threshold, all years (元)"),
    "public_tender_threshold_fen": ("公开招标限额（各年度，元）", "Public-tender threshold, all years (元)"),
    "year_decentralized_fen": ("分散采购限额（元）", "Decentralized threshold (元)"),
    "year_public_tender_fen": ("公开招标限额（元）", "Public-tender threshold (元)"),
    "thresholds": ("各年度采购限额", "Thresholds per fiscal year"),
    "standstill_days": ("公示期（工作日）", "Standstill (working days)"),
    "panel_min_members": ("评审小组最少人数", "Least panel members"),
    "panel_odd_members": ("评审小组人数为单数", "An odd number of panel members"),
    "panel_max_buyer_share": ("采购人代表最高占比", "Largest share of buyer representatives"),
    "annual_report_due": ("年度报告截止日（月-日）", "Annual report due (month-day)"),
    "close_year": ("年终结账", "Year-end close"),
    "close_year_blurb": ("关闭该单位及下级单位本年度已批准的预算项目，释放仍在预占和冻结的资金。此操作不可撤销。",
                         "Closes the approved lines of the org and its subtree for the year and releases what "
                         "they still hold. It cannot be undone."),
    "year_closed": ("年终结账结果", "Year-end close report"),
    "released_pre_encumbered": ("释放预占", "Pre-encumbrance released"),
    "released_reserved": ("释放冻结", "Reservation released"), "released": ("释放合计", "Released"),
    "lapsed": ("年度结余", "Lapsed"), "lines_closed": ("本次关闭项目", "Lines closed now"),
    "lines_already_closed": ("此前已关闭项目", "Lines closed before"),
    "released_nothing": ("本次未释放任何资金", "Nothing was released"),
    "closed_now": ("本次关闭", "Closed now"), "closed_before": ("此前已关闭", "Closed before"),
    "transfer_needs_lines": ("本单位至少有两个已批准的预算项目时才能申请调剂",
                             "A transfer needs two approved lines of your org"),
}

# Problem types of the API as plain sentences next to the form.
PROBLEMS = {
    "invalid-pattern": ("识别规则无效：为空、不是有效的正则表达式，或几乎能匹配任何软件名称",
                        "The pattern is not valid: empty, not a regular expression, or matching nearly any name"),
    "duplicate-pattern": ("该软件已有这条识别规则", "The title already has this pattern"),
    "duplicate-title": ("目录中已有该厂商的同名同版本软件", "The catalogue already has this vendor, name and edition"),
    "unknown-title": ("目录中没有该软件", "No such title in the catalogue"),
    "file-too-large": ("文件过大（最大 32 MB）", "The file is too large (32 MB at most)"),
    "unsupported-file": ("文件既不是 CSV 也不是 Excel（XLSX）", "The file is neither CSV nor Excel (XLSX)"),
    "unreadable-file": ("文件无法读取，可能已损坏", "The file cannot be read; it may be damaged"),
    "unknown-encoding": ("CSV 文件的编码既不是 UTF-8 也不是 GB18030", "The CSV is neither UTF-8 nor GB18030"),
    "missing-columns": ("缺少必需的列：{}", "Required columns are missing: {}"),
    "too-many-rows": ("行数过多（最多 100,000 行）", "Too many rows (100,000 at most)"),
    "empty-file": ("文件中没有数据行", "The file has no rows"),
    "weak-password": ("密码强度不足：至少 10 个字符，包含至少 3 类字符，且不能与用户名相同",
                      "The password is too weak: at least 10 characters of at least 3 classes, not the username"),
    "wrong-password": ("当前密码不正确", "The current password is wrong"),
    "same-password": ("新密码不能与当前密码相同", "The new password must differ from the current one"),
    "last-admin": ("这是最后一个启用的系统管理员，不能停用或降级", "This is the last enabled admin: it stays"),
    "self-disable": ("不能停用自己的账号", "You cannot disable yourself"),
    "username-taken": ("用户名已被使用", "The username is taken"),
    "invalid-input": ("填写的内容有误，请检查", "Some fields are not valid; please check them"),
    "no-seats-available": ("池中已无可分配的席位", "No seats available in this pool"),
    "approver-is-submitter": ("审批人不能是提交人", "The approver cannot be the submitter"),
    "approver-is-requester": ("审批人不能是申请人", "The approver cannot be the requester"),
    "transfer-same-line": ("调出和调入不能是同一个预算项目", "A transfer needs two different lines"),
    "transfer-across-orgs-or-years": ("调剂只能在同一单位、同一年度的预算项目之间进行",
                                      "A transfer stays within one org and fiscal year"),
    "insufficient-funds": ("预算可用余额不足", "The budget line does not have enough funds"),
    "price-above-cap": ("单价超过限价", "The unit price is above the cap"),
    "price-above-special-cap": ("单价超过限价，特殊需求也不能超过",
                                "The unit price is above the cap, special need or not"),
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
    "idempotency-key-in-flight": ("该操作正在处理，请稍候刷新", "This is already being done; reload in a moment"),
    "category-already-licensed": ("该设备已有此类别的授权", "This computer already holds a seat of that category"),
    "os-needs-justification": ("操作系统随计算机配备，单独购买须填写特殊需求说明",
                               "The OS comes with the computer: an OS line needs a justification"),
    "above-control-figure": ("申请金额超过控制数，请压减后再提交",
                             "The request is above the control figure; reduce it"),
    "line-closed": ("预算项目已关闭", "The budget line is closed"),
    "edited-meanwhile": ("该预算项目刚被他人修改，请刷新后重试", "The line was edited meanwhile; reload and try again"),
    "precondition-failed": ("您打开页面后，他人已修改了此内容；请刷新页面查看后再保存",
                            "Someone else changed this after you opened the page; reload it, check, then save again"),
    "if-match-required": ("请刷新页面后再保存", "Reload the page, then save again"),
    "empty-adjustment": ("调整金额不能为零", "An adjustment of 0 changes nothing"),
    "ledger-mismatch": ("台账与预算项目数据不一致，请联系管理员",
                        "The ledger and the line disagree; tell an administrator"),
    "invalid-panel": ("评审小组的人数或构成不符合规定", "The panel's size or composition is not allowed"),
    "public-tender-threshold": ("达到公开招标限额，采用谈判方式须说明理由",
                                "At the public-tender threshold a negotiated award needs a reason"),
}

STATUSES = {
    "ok": ("成功", "OK"), "error": ("有误", "Error"),
    "draft": ("草稿", "Draft"), "submitted": ("待审批", "Submitted"), "approved": ("已批准", "Approved"),
    "rejected": ("已驳回", "Rejected"), "closed": ("已关闭", "Closed"), "demand_open": ("需求征集中", "Demand open"),
    "demand_locked": ("需求已锁定", "Demand locked"), "tendering": ("报价中", "Tendering"),
    "negotiation": ("谈判中", "Negotiation"), "standstill": ("公示期", "Standstill"),
    "awarded": ("已授标", "Awarded"), "cancelled": ("已取消", "Cancelled"), "unsuccessful": ("流标", "Unsuccessful"),
    "pending_budget": ("待预算确认", "Waiting for budget"), "confirmed": ("已确认", "Confirmed"),
    "delivered": ("已交付", "Delivered"), "active": ("有效", "Active"), "reclaimed": ("已回收", "Reclaimed"),
    "retired": ("已报废", "Retired"), "accepted": ("已接受", "Accepted"), "released": ("已释放", "Released"),
    "suspended": ("已暂停", "Suspended"), "terminated": ("已终止", "Terminated"), "expired": ("已到期", "Expired"),
    "open": ("待处理", "Open"), "upheld": ("投诉成立", "Upheld"), "dismissed": ("已驳回", "Dismissed"),
    "pending": ("待审批", "Pending"), "completed": ("已完成", "Completed"),
    "resolved": ("已整改待核验", "Resolved"), "missing": ("未报送", "Missing"),
}
CATEGORIES = {"os": ("操作系统", "Operating system"), "office": ("办公软件", "Office"),
              "antivirus": ("杀毒软件", "Antivirus"), "database": ("数据库", "Database"),
              "industrial_design": ("工业设计", "Industrial design"), "business": ("业务软件", "Business"),
              "other": ("其他", "Other"), "all": ("全部类别", "All categories")}
ROLES = {"admin": ("系统管理员", "Administrator"), "finance": ("财务审批", "Finance"),
         "budget_editor": ("预算编制", "Budget editor"), "procurement": ("采购经办", "Buyer"),
         "negotiator": ("谈判评审", "Negotiator"), "supplier": ("供应商", "Supplier"),
         "it_admin": ("信息化管理", "IT administrator"), "auditor": ("审计（只读）", "Auditor (read-only)"),
         "staff": ("普通职工", "Staff")}
# What a history entry says happened (`action` of GET …/history), in every service.
ACTIONS = {
    "pattern_added": ("添加识别规则", "Pattern added"),
    "created": ("创建", "Created"), "edited": ("修改", "Edited"), "submitted": ("提交审批", "Submitted"),
    "approved": ("批准", "Approved"), "rejected": ("驳回", "Rejected"), "returned": ("退回修改", "Returned"),
    "closed": ("关闭", "Closed"), "adjusted": ("调整", "Adjusted"), "set": ("设置", "Set"),
    "control_set": ("下达控制数", "Control figure set"), "controlled": ("下达控制数", "Control figure set"),
    "requested": ("提出申请", "Requested"), "transfer_requested": ("申请调剂", "Transfer requested"),
    "transferred_out": ("调出", "Transferred out"),
    "transferred_in": ("调入", "Transferred in"), "renamed": ("更名", "Renamed"), "deleted": ("删除", "Deleted"),
    "rotated": ("轮换密钥", "Key rotated"), "demand_opened": ("开始征集需求", "Demand opened"),
    "demand_declared": ("申报需求", "Demand declared"), "demand_accepted": ("需求获预算确认", "Demand accepted"),
    "demand_rejected": ("需求被预算拒绝", "Demand rejected"), "demand_released": ("需求已释放", "Demand released"),
    "demand_locked": ("锁定需求", "Demand locked"), "offers_opened": ("开始报价", "Offers opened"),
    "offer_submitted": ("提交报价", "Offer submitted"), "offers_closed": ("截止报价", "Offers closed"),
    "round_opened": ("开启新一轮谈判", "Round opened"), "round_closed": ("本轮谈判结束", "Round closed"),
    "panel_set": ("组建评审小组", "Panel set"), "evaluated": ("评审打分", "Evaluated"),
    "award_proposed": ("拟授标（公示）", "Award proposed"), "award_withdrawn": ("撤回授标", "Award withdrawn"),
    "awarded": ("授标", "Awarded"), "cancelled": ("取消", "Cancelled"), "unsuccessful": ("流标", "Unsuccessful"),
    "complaint_lodged": ("提出质疑", "Complaint lodged"), "complaint_upheld": ("质疑成立", "Complaint upheld"),
    "complaint_dismissed": ("质疑不成立", "Complaint dismissed"), "suspended": ("暂停", "Suspended"),
    "resumed": ("恢复", "Resumed"), "terminated": ("终止", "Terminated"), "placed": ("下单", "Placed"),
    "confirmed": ("预算确认", "Confirmed"), "delivered": ("交付", "Delivered"), "registered": ("登记", "Registered"),
    "retired": ("报废", "Retired"), "entitlement_added": ("增加授权", "Entitlement added"),
    "entitlement_expired": ("授权到期", "Entitlement expired"), "threshold_set": ("设置预警线", "Threshold set"),
    "bulk_allocated": ("批量分配", "Allocated in bulk"), "allocated": ("分配", "Allocated"),
    "reclaimed": ("回收", "Reclaimed"), "dry_run": ("预览回收", "Previewed"),
    "drafted": ("起草", "Drafted"), "recorded": ("登记整改事项", "Finding recorded"),
    "resolved": ("整改完成", "Resolved"), "verified": ("核验通过", "Verified"), "reopened": ("重新整改", "Reopened"),
}
# Kinds of the budget ledger (GET /lines/{id}/entries).
LEDGER_KINDS = {"approve": ("批复", "Approval"), "adjust": ("调整", "Adjustment"),
                "preencumber": ("预占", "Pre-encumbrance"),
                "release_preencumbrance": ("释放预占", "Pre-encumbrance released"), "reserve": ("冻结", "Reservation"),
                "release": ("释放冻结", "Reservation released"), "spend": ("支出", "Spending"),
                "transfer": ("调剂", "Transfer"), "transfer_in": ("调入", "Transfer in"),
                "transfer_out": ("调出", "Transfer out")}
METRICS = {"device": ("按设备", "Per device"), "user": ("按用户", "Per user"), "concurrent": ("按并发", "Concurrent")}
# Every other closed set a person reads: device kinds, org kinds, entitlement sources, assignees, editions.
KINDS = {"desktop": ("台式机", "Desktop"), "laptop": ("笔记本", "Laptop"), "server": ("服务器", "Server"),
         "root": ("平台", "Platform"),
         "finance_bureau": ("财政部门", "Finance bureau"), "unit": ("预算单位", "Budget unit"),
         "sasac": ("国资委", "SASAC"), "soe_group": ("国有企业集团", "SOE group"), "enterprise": ("企业", "Enterprise"),
         "procurement_center": ("采购中心", "Procurement centre"), "supplier": ("供应商", "Supplier"),
         "order": ("订单交付", "Order delivery"), "manual": ("手工录入", "Manual"), "oem": ("随机预装", "OEM"),
         "device": ("设备", "Device"), "user": ("用户", "User"), "client": ("客户端", "Client"),
         "org": ("单位", "Org"), "api_key": ("API 密钥", "API key"),
         "install": ("安装", "Install"), "uninstall": ("卸载", "Uninstall"),
         # How a catalogue title is licensed (`licensing`).
         "commercial": ("商业授权", "Commercial"), "free": ("免费", "Free"),
         "personal_free": ("仅个人免费", "Free for individuals only"), "bundled": ("随机预装", "Bundled")}
# The edition a line buys where caps differ by edition (antivirus client or server).
EDITIONS = {"client": ("客户端", "Client"), "server": ("服务器端", "Server")}
# The procurement method a line's amount calls for in its fiscal year (`procurement_method`).
METHODS = {"below_threshold": ("限额以下", "Below the threshold"),
           "decentralized_procurement": ("分散采购", "Decentralized procurement"),
           "public_tender": ("公开招标", "Public tender")}
# The notices behind a policy's defaults (`sources[…].notice` of GET /policies/{org_id}).
NOTICES = {
    notices.NOTICE_98: ("财行〔2013〕98号", "Caixing [2013] No. 98"),
    notices.NOTICES["os_needs_justification"]: ("财行〔2013〕98号：操作系统随计算机配备",
                                                 "Caixing [2013] No. 98: the OS comes with the computer"),
    notices.NOTICES["seats_per_device"]: ("财行〔2013〕98号：每台计算机操作系统、办公软件、杀毒软件各一套",
                                           "Caixing [2013] No. 98: one OS, office suite and antivirus per computer"),
    notices.NOTICE_ENSHI_2021: ("恩施州 2021 年：分散采购限额 60 万元",
                                 "Enshi 2021: decentralized procurement from 600,000 元"),
    notices.NOTICE_NATIONAL_2020: ("国办发〔2019〕55号（2020 年全国标准）：公开招标限额 200 万元",
                                    "Guobanfa [2019] No. 55 (national 2020 figures): public tender from 2,000,000 元"),
    notices.NOTICE_ART_52: ("政府采购法第五十二条：7 个工作日", "Government Procurement Law Art. 52: 7 working days"),
    notices.NOTICES["panel_min_members"]: ("财政部令第74号：评审小组至少 3 人",
                                            "MOF Order No. 74: at least 3 members"),
    notices.NOTICES["panel_odd_members"]: ("财政部令第74号：评审小组人数为单数",
                                            "MOF Order No. 74: an odd number of members"),
    notices.NOTICES["panel_max_buyer_share"]: ("财政部令第74号：评审专家不少于三分之二",
                                                "MOF Order No. 74: experts at least two thirds"),
    notices.NOTICE_88: ("国办发〔2013〕88号：年底前向同级版权局报送年度报告",
                         "Guobanfa [2013] No. 88: report to the copyright bureau before the year ends"),
}
# Reasons the services write themselves (a person's own reasons are shown as typed).
SYSTEM_REASONS = {"converted into the order's reservation": ("转为订单冻结", "Converted into the order's reservation"),
                  "spent": ("已支出", "Spent"), "agreement terminated": ("协议终止", "Agreement terminated"),
                  "campaign cancelled": ("采购已取消", "Campaign cancelled"),
                  "insufficient_funds": ("预算可用余额不足", "Not enough funds on the budget line"),
                  "unknown_line": ("找不到该预算项目", "No such budget line"),
                  "wrong_org": ("预算项目不属于该单位", "The budget line belongs to another org"),
                  "category_mismatch": ("预算项目的类别或年度不符",
                                        "The budget line's category or year does not match"),
                  "line_closed": ("预算项目已关闭", "The budget line is closed"),
                  "line_not_approved": ("预算项目尚未批准", "The budget line is not approved")}
SYSTEM_REASON_PATTERNS = [(re.compile(r"device inactive for (\d+) days or more"),
                           ("设备闲置 {} 天及以上", "Device inactive for {} days or more"))]
# What POST /inventory:import says of a refused row.
SYSTEM_REASONS |= {"asset_tag/hostname: the row names no device": ("该行没有填写资产编号或主机名",
                                                                   "The row names no device"),
                   "name: the software's name is empty": ("软件名称为空", "The software's name is empty"),
                   "the device was retired meanwhile": ("导入期间该设备已报废", "The device was retired meanwhile"),
                   "installed_on: a date (2026-03-01) is expected": (
                       "安装日期应为日期，如 2026-03-01",
                       "The installation date must be a date (2026-03-01)")}
SYSTEM_REASON_PATTERNS += [
    (re.compile(r"no device with asset tag '(.*)' in the org's subtree"),
     ("本单位及下级单位中没有资产编号为 {} 的设备", "No device with asset tag {} in the org's subtree")),
    (re.compile(r"no device with host name '(.*)' in the org's subtree"),
     ("本单位及下级单位中没有主机名为 {} 的设备", "No device with host name {} in the org's subtree")),
    (re.compile(r"(\d+) devices have (?:asset tag|host name) '(.*)' in the org's subtree: name it by its asset tag"),
     ("{} 台设备都叫 {}，请用资产编号指明", "{} devices are named {}: name it by its asset tag")),
    (re.compile(r"the device with (?:asset tag|host name) '(.*)' is retired"),
     ("设备 {} 已报废", "Device {} is retired")),
    *((re.compile(rf"{column}: longer than (\d+) characters"),
       (f"{zh}超过 {{}} 个字符", f"{en} is longer than {{}} characters"))
      for column, zh, en in (("name", "软件名称", "The name"), ("vendor", "厂商", "The vendor"),
                             ("version", "版本", "The version"))),
]
# The columns an import's row errors name (`column`: the English header, a field of the kind's POST
# body), by kind, as the kind's template heads them in Chinese (tests/console/test_translations.py
# holds them to the services' own headers). A column with English header only is shown as it is.
IMPORT_COLUMNS = {
    "devices": {"asset_tag": "资产编号", "hostname": "主机名", "kind": "类型", "os_name": "操作系统",
                "owner": "使用人", "org_id": "单位"},
    "entitlements": {"reference": "证书编号", "product_name": "产品名称", "vendor": "厂商", "category": "类别",
                     "metric": "授权方式", "quantity": "授权数量", "valid_from": "生效日期", "valid_to": "截止日期",
                     "source": "来源", "org_id": "单位"},
    "lines": {"fiscal_year": "年度", "category": "类别", "edition": "版本", "title": "项目名称", "quantity": "数量",
              "unit_price": "单价（元）", "justification": "申请理由", "org_id": "单位"},
    "orgs": {"name": "单位名称", "kind": "类型", "parent_id": "上级单位"},
    "users": {"username": "用户名", "display_name": "姓名", "roles": "角色", "email": "电子邮箱", "org_id": "单位",
              "password": "初始密码"},
}
ENUMS = {"status": STATUSES, "category": CATEGORIES, "role": ROLES, "action": ACTIONS, "ledger": LEDGER_KINDS,
         "metric": METRICS, "kind": KINDS, "edition": EDITIONS, "method": METHODS}


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

    def enum(self, table: str, value: object) -> str:
        """A value of one of the closed sets in ENUMS in the page's language. A value the table
        lacks is shown as it is, marked `data-untranslated` so the console's tests find it."""
        words = ENUMS[table].get(str(value))
        if words is not None:
            return words[self.index]
        return Markup('<span data-untranslated="{}">{}</span>').format(table, value)

    def status(self, value: str) -> str:
        return self.enum("status", value)

    def reason(self, value: str | None) -> str:
        """A reason: a system's own words translated, a person's as they typed them."""
        words = SYSTEM_REASONS.get(value or "")
        if words:
            return words[self.index]
        for pattern, (zh, en) in SYSTEM_REASON_PATTERNS:
            if found := pattern.fullmatch(value or ""):
                return (zh, en)[self.index].format(*found.groups())
        return value or ""

    def category(self, value: str) -> str:
        return self.enum("category", value)

    def role(self, value: str) -> str:
        return self.enum("role", value)

    def action(self, value: str) -> str:
        return self.enum("action", value)

    def ledger(self, value: str) -> str:
        return self.enum("ledger", value)

    def metric(self, value: str) -> str:
        return self.enum("metric", value)

    def kind(self, value: str) -> str:
        return self.enum("kind", value)

    def edition(self, value: str) -> str:
        return self.enum("edition", value)

    def method(self, value: str) -> str:
        return self.enum("method", value)

    def column(self, kind: str, name: str | None) -> str:
        """A column of a kind's import as its template heads it: Chinese, or the English header itself."""
        if not name:
            return "—"
        return IMPORT_COLUMNS.get(kind, {}).get(name, name) if self.index == 0 else name

    def notice(self, value: str | None) -> str:
        """The notice behind a default, in the page's language (an unknown one as the API wrote it)."""
        words = NOTICES.get(value or "")
        return words[self.index] if words else (value or "")

    def problem(self, body: dict) -> str:
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        if slug not in PROBLEMS:
            return body.get("detail") or body.get("title") or slug
        sentence = PROBLEMS[slug][self.index]
        # An import's header row lacks columns: name them (the Chinese headers, or the field names).
        if slug == "missing-columns" and body.get("missing_headers"):
            groups = body["missing_headers"] if self.index == 0 else body.get("missing", [])
            return sentence.format(("；" if self.index == 0 else "; ").join(
                (" 或 " if self.index == 0 else " or ").join(group) for group in groups))
        # A refused price says which cap it met (the API's `cap_fen`), in 元.
        if isinstance(body.get("cap_fen"), int):
            sentence += f"（{WORDS['cap_is'][0]} {yuan(body['cap_fen'])} 元）" if self.index == 0 \
                else f" ({WORDS['cap_is'][1]} {yuan(body['cap_fen'])} 元)"
        return sentence


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
