"""The demo scenario: a province and an SOE group buy an office suite together and put it to use.

Each step is a method, so the end-to-end tests can run the same story and break things between
steps (stop NATS, kill a service) before checking that every figure still adds up.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from services.licenses.catalogue.recognition import title_id
from zhengban.builder import Builder
from zhengban.demo.client import Api, wait_until

PASSWORD = "Zhengban-demo-2026"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFICE_CAP_FEN = 60_000  # 600 元, the 财行〔2013〕98号 cap for office software


@dataclass
class Unit:
    key: str
    name: str
    kind: str
    parent: str
    id: str = ""
    line_id: str = ""
    demand_id: str = ""


@dataclass
class Made:
    """What the scenario made, for the summary and for reconciliation."""

    tag: str
    orgs: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # username → what they do
    campaign_id: str = ""
    agreement_id: str = ""
    orders: dict[str, dict] = field(default_factory=dict)
    devices: list[dict] = field(default_factory=list)
    control: dict = field(default_factory=dict)  # the 二上二下 line, step by step
    transfer: dict = field(default_factory=dict)  # the budget transfer (调剂), as approved
    second_seat: dict = field(default_factory=dict)  # the refused second office seat on one computer
    inspection: dict = field(default_factory=dict)  # 省实验中学's computers reported by raw names
    oversight: dict = field(default_factory=dict)  # install requests, annual reports, findings (issue #30)
    imports: dict[str, dict] = field(default_factory=dict)  # each school's asset register: the import's counts


# (key, name, kind, parent key); "root" is the installation's root org.
ORGS = [
    ("finance", "省财政厅", "finance_bureau", "root"),
    ("education", "省教育厅", "unit", "finance"),
    ("school_1", "省第一中学", "unit", "education"),
    ("school_2", "省实验中学", "unit", "education"),
    ("health", "省卫生健康委员会", "unit", "finance"),
    ("sasac", "省国资委", "sasac", "root"),
    ("energy", "省能源集团", "soe_group", "sasac"),
    ("power", "能源集团发电有限公司", "enterprise", "energy"),
    ("plant", "发电公司第一电厂", "enterprise", "power"),
    ("sales", "能源集团售电有限公司", "enterprise", "energy"),
    ("centre", "省政府采购中心", "procurement_center", "root"),
    ("kingsoft", "金山办公软件有限公司", "supplier", "root"),
    ("yozo", "永中软件股份有限公司", "supplier", "root"),
]
# Units that take part in the joint purchase, with the seats they need and their budget (seats).
PARTICIPANTS = {"school_1": (40, 40), "school_2": (20, 20), "health": (30, 30), "power": (30, 30),
                "plant": (15, 15), "sales": (10, 10)}
# Who approves whose budget: the finance bureau for its units, the SOE group for its enterprises.
APPROVER = {"school_1": "finance", "school_2": "finance", "health": "finance", "power": "energy",
            "plant": "energy", "sales": "energy"}


def asset_register(rows: list[tuple[str, str, str, str]]) -> bytes:
    """A unit's asset register (登记造册) as people keep it: an Excel workbook with Chinese headers,
    a row per computer (asset tag, host name, kind, operating system)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("登记造册")
    sheet.append(["资产编号", "主机名", "类型", "操作系统"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Scenario:
    def __init__(self, gateway_url: str, admin_password: str, *, tag: str | None = None,
                 progress=lambda step, done, total: None):
        self.api = Api(gateway_url)
        self.admin = self.api.as_(self.api.token("admin", admin_password))
        self.build = Builder(self.api, self.admin, PASSWORD)
        self.made = Made(tag or secrets.token_hex(3))
        self.progress = progress
        self.actors: dict[str, Api] = {}

    # --- people ---------------------------------------------------------------------------

    def user(self, org: str, *roles: str, label: str) -> Api:
        username = f"{org}-{'-'.join(roles)}-{self.made.tag}".replace("_", "-")
        if username not in self.actors:
            self.actors[username] = self.build.user(username, self.made.orgs[org].id, *roles)
            self.made.users[username] = label
        return self.actors[username]

    def username(self, actor: Api) -> str:
        return next(name for name, known in self.actors.items() if known is actor)

    def unit(self, key: str) -> Api:
        """The budget editor and buyer of a participant unit."""
        return self.user(key, "budget_editor", "procurement", label=f"{self.made.orgs[key].name} 预算与采购")

    def org_id(self, key: str) -> str:
        return self.made.orgs[key].id

    # --- steps ----------------------------------------------------------------------------

    def create_orgs(self) -> None:
        for key, name, kind, parent in ORGS:
            unit = Unit(key, name, kind, parent)
            unit.id = self.build.org(name, kind, None if parent == "root" else self.made.orgs[parent].id)["id"]
            self.made.orgs[key] = unit

    def approve_budgets(self, fiscal_year: int = 2026) -> None:
        for key, (_, seats) in PARTICIPANTS.items():
            editor = self.unit(key)
            finance = self.user(APPROVER[key], "finance", label=f"{self.made.orgs[APPROVER[key]].name} 财务审批")
            line = self.build.approved_line(editor, finance, org_id=self.org_id(key), category="office",
                                            title="办公软件正版化", quantity=seats, unit_price_fen=OFFICE_CAP_FEN,
                                            fiscal_year=fiscal_year, note="同意")
            self.made.orgs[key].line_id = line["id"]

    def run_campaign(self) -> None:
        lead = self.user("centre", "procurement", label="采购中心 经办")
        product = self.build.product(lead, vendor="金山办公", name="WPS Office", edition=f"专业版 {self.made.tag}",
                                     category="office")
        campaign = self.build.campaign(lead, title="2026 年度全省办公软件联合采购", lead_org_id=self.org_id("centre"),
                                       participant_org_ids=[self.org_id(k) for k in PARTICIPANTS],
                                       items=[(product["id"], OFFICE_CAP_FEN)], min_offers=2)
        self.made.campaign_id = campaign.id
        campaign.open_demand()
        for key, (seats, _) in PARTICIPANTS.items():
            demand = campaign.declare(self.unit(key), org_id=self.org_id(key), quantity=seats,
                                      budget_line_id=self.made.orgs[key].line_id)
            self.made.orgs[key].demand_id = demand["id"]
        wait_until(lambda: all(d["status"] == "accepted" for d in lead.all(f"{campaign.path}/demands")),
                   what="every demand accepted by the budget")
        campaign.lock_demand()
        campaign.open_offers([self.org_id("kingsoft"), self.org_id("yozo")])
        kingsoft = self.user("kingsoft", "supplier", label="金山办公 投标")
        yozo = self.user("yozo", "supplier", label="永中软件 投标")
        # Two rounds: in the second both may only keep or lower their price.
        campaign.tender([[(kingsoft, [56_000]), (yozo, [54_000])], [(kingsoft, [49_800]), (yozo, [52_000])]])
        panel = [self._panelist(n) for n in (1, 2, 3)]
        campaign.evaluate([(p, self.build.user_id(p)) for p in panel],
                          {self.org_id("kingsoft"): 88, self.org_id("yozo"): 85})
        self.made.agreement_id = campaign.award(self.org_id("kingsoft"))["agreement_id"]

    def _panelist(self, n: int) -> Api:
        username = f"expert-{n}-{self.made.tag}"
        if username not in self.actors:
            self.actors[username] = self.build.user(username, self.org_id("centre"), "negotiator")
            self.made.users[username] = f"评审专家 {n}"
        return self.actors[username]

    def place_orders(self, first: int = 0, stop: int | None = None) -> None:
        """Every unit orders what it declared; 省实验中学 then asks for 10 more than its budget holds.
        `first` and `stop` place only those orders (by their place in that list), so a test can
        break something between two of them."""
        item = self.admin.get(f"/api/v1/procurement/agreements/{self.made.agreement_id}")["items"][0]["item_id"]
        wanted = [(key, seats) for key, (seats, _) in PARTICIPANTS.items()] + [("school_2", 10)]
        for n, (key, seats) in list(enumerate(wanted))[first:stop]:
            order = self.unit(key).post("/api/v1/procurement/orders", {
                "agreement_id": self.made.agreement_id, "item_id": item, "quantity": seats,
                "budget_line_id": self.made.orgs[key].line_id, "org_id": self.org_id(key)},
                headers={"Idempotency-Key": f"demo-{self.made.tag}-order-{n}"})
            self.made.orders[f"{key}#{n}"] = order

    def wait_for_budget_answers(self, timeout: float = 120) -> dict[str, dict]:
        def answered():
            orders = {k: self.admin.get(f"/api/v1/procurement/orders/{o['id']}") for k, o in self.made.orders.items()}
            return orders if all(o["status"] != "pending_budget" for o in orders.values()) else None

        self.made.orders = wait_until(answered, timeout=timeout, what="every order answered by the budget")
        return self.made.orders

    def cancel_and_deliver(self) -> None:
        """售电公司 cancels its order; the supplier delivers every other confirmed one."""
        kingsoft = self.user("kingsoft", "supplier", label="金山办公 投标")
        for key, order in self.made.orders.items():
            if order["status"] != "confirmed":
                continue
            if key.startswith("sales#"):
                self.made.orders[key] = self.unit("sales").post(f"/api/v1/procurement/orders/{order['id']}/cancel",
                                                  {"reason": "机构调整，暂缓采购"})
            else:
                delivered = kingsoft.post(f"/api/v1/procurement/orders/{order['id']}/deliver",
                                          {"keys": [f"WPS-{self.made.tag}-{key}"]})
                # The supplier reads the order without the unit's budget line (SPEC's visibility table):
                # keep the unit's own view of it, with the new status.
                self.made.orders[key] = {**order, "status": delivered["status"], "updated_at": delivered["updated_at"]}

    def wait_for_seats(self, timeout: float = 120) -> None:
        delivered = {o["org_id"]: o["quantity"] for o in self.made.orders.values() if o["status"] == "delivered"}

        def arrived():
            pools = {p["org_id"]: p for p in self.admin.all("/api/v1/licenses/pools", category="office")}
            return all(org in pools and pools[org]["total"] >= n for org, n in delivered.items())

        wait_until(arrived, timeout=timeout, what="every delivery arriving as seats")

    def register_devices_and_allocate(self) -> None:
        """Schools register their computers from their asset register (登记造册), a workbook imported
        through the public API in one call; most get a seat, a few run Office without one."""
        for key in ("school_1", "health"):
            admin = self.user(key, "it_admin", label=f"{self.made.orgs[key].name} 信息中心")
            pool = admin.all("/api/v1/licenses/pools", org_id=self.org_id(key), category="office")[0]
            seats = pool["available"]
            register = [(f"{key.upper()}-{n + 1:03d}", f"{key}-pc-{n + 1:03d}", "笔记本" if n % 5 == 0 else "台式机",
                         "统信 UOS 20") for n in range(seats + 3)]
            counts = admin.post("/api/v1/licenses/devices:import", params={"org_id": self.org_id(key)},
                                files={"file": (f"{key}-登记造册.xlsx", asset_register(register), XLSX)})
            self.made.imports[key] = counts
            tags = {row[0] for row in register}
            devices = sorted((d for d in admin.all("/api/v1/licenses/devices", org_id=self.org_id(key))
                              if d["asset_tag"] in tags), key=lambda d: d["asset_tag"])
            for n, device in enumerate(devices):
                software = [{"name": "统信 UOS", "vendor": "统信软件", "version": "20", "category": "os"}]
                software.append({"name": "WPS Office", "vendor": "金山办公", "version": "12", "category": "office"}
                                if n < seats else
                                {"name": "Microsoft Office 2016", "vendor": "Microsoft", "version": "16",
                                 "category": "office"})
                admin.post(f"/api/v1/licenses/devices/{device['id']}/inventory", {"software": software})
                self.made.devices.append(device)
            mine = [{"assignee_type": "device", "assignee_id": d["id"]} for d in self.made.devices
                    if d["org_id"] == self.org_id(key)]
            admin.post(f"/api/v1/licenses/pools/{pool['id']}/allocations:bulk", {"items": mine[:seats]})
            # The operating system came with the computers (OEM): one seat each.
            oem = admin.post("/api/v1/licenses/entitlements", {
                "org_id": self.org_id(key), "product_name": "统信 UOS", "vendor": "统信软件", "category": "os",
                "metric": "device", "quantity": len(mine), "source": "oem", "reference": "随机预装"})
            admin.post(f"/api/v1/licenses/pools/{oem['pool_id']}/allocations:bulk", {"items": mine})

    def control_figure(self) -> None:
        """二上二下: 卫健委 asks for four database licences (一上), the finance bureau sets a control
        figure and sends the line back (一下), the unit cuts it to three and resubmits (二上), and
        finance approves it (二下)."""
        editor = self.unit("health")
        finance = self.user("finance", "finance", label="省财政厅 财务审批")
        line = editor.post("/api/v1/budget/lines", {
            "org_id": self.org_id("health"), "fiscal_year": 2026, "category": "database",
            "title": "国产数据库正版化", "quantity": 4, "unit_price_fen": 150_000})
        path = f"/api/v1/budget/lines/{line['id']}"
        editor.post(f"{path}/submit")
        controlled = finance.post(f"{path}/control", {"control_fen": 450_000, "note": "控制数：压减一套"})
        editor.request("PATCH", path, json={"quantity": 3})
        resubmitted = editor.post(f"{path}/submit")
        approved = finance.post(f"{path}/approve", {"approved_fen": resubmitted["requested_fen"], "note": "同意"})
        self.made.control = {"line_id": line["id"], "title": line["title"], "requested_fen": line["requested_fen"],
                             "control_fen": controlled["control_fen"], "status_after_control": controlled["status"],
                             "resubmitted_fen": resubmitted["requested_fen"], "approved_fen": approved["approved_fen"],
                             "status": approved["status"]}

    def budget_transfer(self) -> None:
        """调剂: 卫健委 moves part of its OA line to the database line; a second finance user (not the
        one who set the control figure, and never the requester) approves it."""
        editor = self.unit("health")
        finance = self.user("finance", "finance", label="省财政厅 财务审批")
        oa = editor.post("/api/v1/budget/lines", {
            "org_id": self.org_id("health"), "fiscal_year": 2026, "category": "business",
            "title": "办公自动化（OA）系统授权", "quantity": 10, "unit_price_fen": 30_000})
        editor.post(f"/api/v1/budget/lines/{oa['id']}/submit")
        finance.post(f"/api/v1/budget/lines/{oa['id']}/approve", {"approved_fen": oa["requested_fen"], "note": "同意"})
        requested = editor.post("/api/v1/budget/transfers", {
            "from_line_id": oa["id"], "to_line_id": self.made.control["line_id"], "amount_fen": 50_000,
            "reason": "OA 项目节余，调剂至数据库授权"})
        approver = self.user("health", "finance", label="卫健委 财务处（调剂审批）")
        approved = approver.post(f"/api/v1/budget/transfers/{requested['id']}/approve")
        source = approver.get(f"/api/v1/budget/lines/{oa['id']}")
        target = approver.get(f"/api/v1/budget/lines/{self.made.control['line_id']}")
        self.made.transfer = {"id": approved["id"], "status": approved["status"], "amount_fen": approved["amount_fen"],
                              "requested_by": self.username(editor), "decided_by": self.username(approver),
                              "control_set_by": self.username(finance),
                              "from_available_fen": source["available_fen"],
                              "to_available_fen": target["available_fen"]}

    def second_office_seat(self) -> None:
        """One computer, two office suites: 售电公司's computer holds a WPS seat, and a seat of a second
        office suite for the same computer is refused (财行〔2013〕98号: one office suite per computer)."""
        admin = self.user("sales", "it_admin", label=f"{self.made.orgs['sales'].name} 信息中心")
        device = admin.post("/api/v1/licenses/devices", {
            "org_id": self.org_id("sales"), "asset_tag": "SALES-001", "hostname": "sales-pc-001", "kind": "desktop",
            "os_name": "统信 UOS 20"})
        pools = []
        for product, vendor in (("WPS Office（历史采购）", "金山办公"), ("永中 Office", "永中软件")):
            entitlement = admin.post("/api/v1/licenses/entitlements", {
                "org_id": self.org_id("sales"), "product_name": product, "vendor": vendor, "category": "office",
                "metric": "device", "quantity": 1, "source": "manual", "reference": f"存量授权 {self.made.tag}"})
            pools.append(entitlement["pool_id"])
        seat = {"assignee_type": "device", "assignee_id": device["id"]}
        admin.post(f"/api/v1/licenses/pools/{pools[0]}/allocations", seat)
        refused = admin.request("POST", f"/api/v1/licenses/pools/{pools[1]}/allocations", json=seat, expect=(409,))
        self.made.second_seat = {"device": device["asset_tag"], "status": refused["status"], "type": refused["type"],
                                 "detail": refused.get("detail")}

    def raw_inventories(self) -> None:
        """核查 as the notices run it: 省实验中学's computers report what a detection tool prints (raw names,
        no category), and the report judges each title. SCHOOL_2-001 holds a WPS seat and runs WPS; -002
        holds one too but also has Microsoft Office installed (a WPS seat does not make it genuine); -003
        has the free personal WPS, 7-Zip (free) and WinRAR (no seat). All came with 统信UOS, recorded as
        pre-installed; each carries updates and runtimes (not products) and the unit's own tools, which
        wait in the unrecognized queue."""
        key = "school_2"
        admin = self.user(key, "it_admin", label=f"{self.made.orgs[key].name} 信息中心")
        # Shipped titles have the same id in every installation: the key says which.
        wps, uos = title_id("wps-office-2019-professional"), title_id("uos-desktop-professional")
        entitlement = admin.post("/api/v1/licenses/entitlements", {
            "org_id": self.org_id(key), "product_name": "WPS Office 2019 专业版", "vendor": "金山办公",
            "category": "office", "title_id": str(wps), "metric": "device", "quantity": 2, "source": "manual",
            "reference": f"2019 年存量采购 {self.made.tag}"})
        common = [("统信桌面操作系统V20专业版", "统信软件技术有限公司", "20.1060"),
                  ("Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.36.32532", "Microsoft Corporation",
                   "14.36.32532.0"),
                  ("某市财政局预算一体化客户端", "某市财政局", "2.1"), ("公文处理系统客户端", "信息中心", "3.2")]
        own = {1: [("WPS Office 2019 专业版 (11.8.2.12085)", "珠海金山办公软件有限公司", "11.8.2.12085"),
                   ("7-Zip 23.01 (x64)", "Igor Pavlov", "23.01"), ("微信", "腾讯科技(深圳)有限公司", "3.9.8.25")],
               2: [("WPS Office 2019 专业版 (11.8.2.12085)", "珠海金山办公软件有限公司", "11.8.2.12085"),
                   ("Microsoft Office Professional Plus 2016 - zh-cn", "Microsoft Corporation", "16.0.4266.1001"),
                   ("Security Update for Microsoft Office 2016 (KB5002700) 64-Bit Edition", "Microsoft Corporation",
                    "")],
               3: [("WPS Office (11.1.0.14309)", "Kingsoft Corp.", "11.1.0.14309"),
                   ("7-Zip 23.01 (x64)", "Igor Pavlov", "23.01"), ("WinRAR 6.24 (64-bit)", "win.rar GmbH", "6.24.0"),
                   ("档案管理系统 V2.0", "本单位信息中心", "2.0")]}
        devices = []
        for n, software in own.items():
            device = admin.post("/api/v1/licenses/devices", {
                "org_id": self.org_id(key), "asset_tag": f"SCHOOL_2-{n:03d}", "hostname": f"school-2-pc-{n:03d}",
                "kind": "desktop", "os_name": "统信UOS 20", "bundled_title_ids": [str(uos)]})
            admin.post(f"/api/v1/licenses/devices/{device['id']}/inventory", {"software": [
                {"name": name, "vendor": vendor, "version": version} for name, vendor, version in common + software]})
            self.made.devices.append(device)
            devices.append(device)
        admin.post(f"/api/v1/licenses/pools/{entitlement['pool_id']}/allocations:bulk",
                   {"items": [{"assignee_type": "device", "assignee_id": d["id"]} for d in devices[:2]]})
        self.made.inspection = {"org_id": self.org_id(key), "devices": [d["asset_tag"] for d in devices]}

    def oversight(self) -> None:
        """The routines the notices ask of every unit (issue #30). Install approval at 售电公司 (outside
        the province, so the compliance figures above stay as they are): a staff member asks for
        永中Office on two new computers; the first request is approved with the pool's last seat, the
        second finds none left and is refused. Annual reports of the province: 第一中学 submits on
        time, 实验中学 late (its bureau moved its deadline to 31 January), 教育厅 submits its own,
        卫健委's is missing. Findings: one resolved and verified, one due today (overdue tomorrow: a
        due date already past is refused)."""
        it_admin = self.user("sales", "it_admin", label=f"{self.made.orgs['sales'].name} 信息中心")
        staff = self.user("sales", "staff", label=f"{self.made.orgs['sales'].name} 职工")
        pool = next(p for p in it_admin.all("/api/v1/licenses/pools", org_id=self.org_id("sales"))
                    if p["vendor"] == "永中软件")
        # The title the pool's seats are of (recognized from its vendor and name), which staff ask for.
        title = it_admin.get(f"/api/v1/licenses/catalogue/{pool['title_id']}")
        decided = []
        for n in (2, 3):
            device = it_admin.post("/api/v1/licenses/devices", {
                "org_id": self.org_id("sales"), "asset_tag": f"SALES-00{n}", "hostname": f"sales-pc-00{n}",
                "kind": "desktop", "owner": self.username(staff)})
            request = staff.post("/api/v1/licenses/install-requests", {
                "device_id": device["id"], "title_id": title["id"], "kind": "install", "reason": "售电合同编辑"})
            path = f"/api/v1/licenses/install-requests/{request['id']}"
            answer = it_admin.request("POST", f"{path}/approve", json={"pool_id": pool["id"]}, expect=(200, 409))
            if answer["status"] == 409:  # no seat left: the request is still pending, and is refused
                answer = it_admin.post(f"{path}/reject", {"reason": "授权已用完，待下批采购"})
            decided.append({"device": device["asset_tag"], "status": answer["status"],
                            "reason": answer.get("decision_reason")})

        year = datetime.now(timezone(timedelta(hours=8))).year
        finance = self.user("finance", "finance", label="省财政厅 财务审批")
        policy = f"/api/v1/budget/policies/{self.org_id('school_2')}"
        current = finance.http.get(policy)  # a PUT names the version it replaces (If-Match)
        finance.request("PUT", policy, json={**(current.json().get("own") or {}), "annual_report_due": "01-31"},
                        headers={"If-Match": current.headers["etag"]})
        reporter = self.user("education", "it_admin", label=f"{self.made.orgs['education'].name} 信息中心")
        statuses = f"/api/v1/licenses/annual-reports?org_id={self.org_id('education')}&year={year}"
        wait_until(lambda: any(c["due_at"].startswith(f"{year}-01-31") for c in reporter.get(statuses)["items"]),
                   what="实验中学's deadline reaching the licenses service")
        for key in ("school_1", "school_2", "education"):
            report = reporter.post("/api/v1/licenses/annual-reports", {
                "org_id": self.org_id(key), "year": year, "responsible_person": "信息中心主任",
                "phone": "0571-87000000", "notes": "年度软件正版化工作报告"})
            reporter.post(f"/api/v1/licenses/annual-reports/{report['id']}/submit")
        auditor = self.user("finance", "auditor", label="省财政厅 审计（只读）")
        children = auditor.get(f"/api/v1/licenses/annual-reports?org_id={self.org_id('finance')}&year={year}")
        schools = auditor.get(statuses)
        rollup = auditor.get(f"/api/v1/licenses/annual-reports/rollup?org_id={self.org_id('finance')}&year={year}")

        health = self.user("health", "it_admin", label=f"{self.made.orgs['health'].name} 信息中心")
        today = datetime.now(timezone(timedelta(hours=8))).date()
        finding = auditor.post("/api/v1/licenses/findings", {
            "org_id": self.org_id("health"), "description": "软件资产台账未按季度更新",
            "due_date": (today + timedelta(days=30)).isoformat()})
        health.post(f"/api/v1/licenses/findings/{finding['id']}/resolve", {"note": "台账已更新并指定专人维护"})
        verified = auditor.post(f"/api/v1/licenses/findings/{finding['id']}/verify")
        # One of 第一中学's computers running Office without a seat (register_devices_and_allocate).
        unlicensed = [d for d in self.made.devices if d["org_id"] == self.org_id("school_1")][-1]
        due = auditor.post("/api/v1/licenses/findings", {
            "org_id": self.org_id("school_1"), "device_id": unlicensed["id"],
            "description": f"{unlicensed['asset_tag']} 安装未授权 Microsoft Office 2016，限期卸载或采购正版",
            "due_date": today.isoformat()})
        self.made.oversight = {
            "install_requests": decided,
            "reports": {c["org_name"]: (c["status"], c["late"]) for c in children["items"] + schools["items"]},
            "rollup": {"reports": rollup["reports"], "computers": rollup["computers"]["total"]},
            "findings": [(verified["description"], verified["status"]), (due["description"], due["status"])]}

    def compliance(self) -> dict:
        auditor = self.user("finance", "auditor", label="省财政厅 审计（只读）")
        return auditor.get("/api/v1/licenses/compliance", params={"org_id": self.org_id("finance")})

    STEPS = ("create_orgs", "approve_budgets", "run_campaign", "place_orders", "wait_for_budget_answers",
             "cancel_and_deliver", "wait_for_seats", "register_devices_and_allocate", "control_figure",
             "budget_transfer", "second_office_seat", "raw_inventories", "oversight", "compliance")

    def run(self) -> dict:
        result = None
        for n, step in enumerate(self.STEPS):
            self.progress(step, n, len(self.STEPS))
            result = getattr(self, step)()
        self.progress("done", len(self.STEPS), len(self.STEPS))
        return result
