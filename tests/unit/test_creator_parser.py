"""The offline SOP parser on the sample SOPs, and on SOPs shaped differently."""

from __future__ import annotations

from pathlib import Path

from oratio_voice.agents.intake import extract
from oratio_voice.agents.sop_parser import data_fields, parse_sop, rule_kind
from oratio_voice.agents.spec import SopSpec
from tests.fixtures.documents import make_docx, make_text_pdf

SOPS = Path(__file__).resolve().parents[2] / "examples" / "sops"


def _spec(name: str) -> SopSpec:
    return parse_sop((SOPS / name).read_text(), document=name)


def test_retail_returns_specification() -> None:
    spec = _spec("retail-returns.md")
    assert spec.title == "Northwind Outfitters: Returns and Refunds SOP"
    assert spec.tone.startswith("Be friendly, brief and concrete.")
    assert spec.hours == [
        "Phone support is open Monday to Friday from 8 am to 8 pm and Saturday from 9 am to "
        "5 pm, Eastern time. Stores keep their own hours, listed on the store page."
    ]
    returns, exchanges = spec.procedures
    assert returns.name == "Starting a return"
    assert len(returns.steps) == 6
    assert (
        returns.steps[0] == "Ask for the order number. It starts with NW followed by eight digits."
    )
    assert [f.name for f in returns.data_to_collect] == [
        "order_number",
        "email_address",
        "items_returned",
    ]
    assert returns.source.endswith(
        "§ Northwind Outfitters: Returns and Refunds SOP > Starting a return"
    )
    assert exchanges.name == "Exchanges"
    assert [f.name for f in exchanges.data_to_collect] == [
        "order_number",
        "item",
        "size_or_colour",
    ]
    rules = {r.text: r.kind for r in spec.rules}
    assert rules["Items must be in their original packaging with the tags attached."] == "must"
    assert (
        rules["Customers can return unused items within 30 days of delivery for a full refund."]
        == "limit"
    )
    worn = "Worn footwear, opened hygiene products (socks, underwear) and gift cards cannot be "
    assert rules[worn + "returned."] == "cannot"
    assert any(k == "only" and "shipping costs" in t for t, k in rules.items())
    assert any(k == "never" and "argue about the policy" in t for t, k in rules.items())
    assert any(k == "conditional" and "out of stock" in t for t, k in rules.items())
    assert [r.id for r in spec.rules] == [f"R{i}" for i in range(1, len(spec.rules) + 1)]
    assert [(h.id, h.text, h.queue) for h in spec.handoffs] == [
        ("H1", "The customer asks to speak to a person or a manager", "Returns team"),
        ("H2", "The customer reports an injury or a safety problem with a product", "Returns team"),
        ("H3", "The refund amount is over 500 dollars", "Returns team"),
        ("H4", "The customer disputes a charge or mentions a chargeback", "Returns team"),
        ("H5", "The order cannot be found after two attempts", "Returns team"),
    ]
    titles = [s.title for s in spec.sections]
    assert {"Return policy", "Refunds", "Damaged or wrong items"} <= set(titles)


def test_clinic_appointments_specification() -> None:
    spec = _spec("clinic-appointments.md")
    assert spec.summary.startswith("Riverside Family Clinic is a primary-care practice")
    booking, rescheduling = spec.procedures
    assert booking.name == "Booking a new appointment"
    assert [f.name for f in booking.data_to_collect] == [
        "full_name",
        "date_of_birth",
        "whether_new_clinic",
        "reason_for_visit",
        "preferred_doctor",
    ]
    assert rescheduling.name == "Rescheduling and cancellation"
    assert [f.name for f in rescheduling.data_to_collect] == ["name", "date_of_birth"]
    kinds = {r.kind for r in spec.rules}
    assert {"never", "must", "limit", "conditional"} <= kinds
    emergency = next(r for r in spec.rules if "911" in r.text)
    assert emergency.kind == "conditional"
    assert "Never give medical advice" in spec.rules[0].text
    assert [h.text for h in spec.handoffs] == [
        "The caller asks to speak to a person, a nurse or a doctor",
        "The caller asks for test results or a prescription refill",
        "The caller wants to file a complaint",
        "The caller has a billing dispute",
    ]
    assert {h.queue for h in spec.handoffs} == {"front-desk"}
    assert "Monday to Friday from 7:30 am to 6 pm" in spec.hours[0]


def test_it_password_reset_specification() -> None:
    spec = _spec("it-password-reset.md")
    verify, reset = spec.procedures
    assert verify.name == "Verifying the caller"
    assert [f.name for f in verify.data_to_collect] == ["employee_id", "manager_name"]
    assert reset.name == "Resetting a password"
    assert reset.data_to_collect == []
    assert len(reset.steps) == 3
    texts = [r.text for r in spec.rules]
    assert "Never ask for the caller's current or old password." in texts
    assert "Do not continue if the code does not match." in texts
    assert any("at least 14 characters" in t for t in texts)
    assert [h.queue for h in spec.handoffs] == ["Tier 2"] * 4
    assert spec.handoffs[1].text == "The caller cannot be verified"
    assert spec.hours == ["The service desk answers calls 24 hours a day, 7 days a week."]


PLAIN_SOP = """Acme Bank Card Services

Our phone team helps cardholders with lost and stolen cards.

Reporting a lost card:
1. Ask for the cardholder's full name and the last four digits of the card.
2. Block the card in the card system.
3. Offer to send a replacement card to the address on file.

Rules
Agents must never read out a full card number. Replacement cards are free only once per year.

When to involve a supervisor
Escalate to a supervisor if the caller reports fraudulent transactions.
If the caller is abroad and needs emergency cash, transfer the call to the travel desk.

Frequently Asked Questions
How long does a new card take?
Replacement cards arrive within 5 business days.
Can I still use my card online?
No. A blocked card cannot be used anywhere.
"""


def test_plain_text_sop_with_other_heading_names() -> None:
    spec = parse_sop(PLAIN_SOP, document="cards.txt")
    assert spec.title == "Acme Bank Card Services"
    assert spec.summary == "Our phone team helps cardholders with lost and stolen cards."
    (procedure,) = spec.procedures
    assert procedure.name == "Reporting a lost card"
    assert [f.name for f in procedure.data_to_collect] == [
        "cardholder_full_name",
        "last_four_digits",
    ]
    assert [(r.kind, r.text) for r in spec.rules][:2] == [
        ("never", "Agents must never read out a full card number."),
        ("only", "Replacement cards are free only once per year."),
    ]
    assert [(h.text, h.queue) for h in spec.handoffs] == [
        ("the caller reports fraudulent transactions", "supervisor"),
        ("the caller is abroad and needs emergency cash", "travel desk"),
    ]
    assert [f.question for f in spec.faqs] == [
        "How long does a new card take?",
        "Can I still use my card online?",
    ]
    assert spec.faqs[1].answer == "No. A blocked card cannot be used anywhere."


def test_headingless_sop_and_inline_handoffs() -> None:
    spec = parse_sop(
        "Ask the customer for their loyalty card number before booking a table. "
        "Never promise a table by the window. "
        "Transfer to a manager when the customer threatens legal action.",
        document="bistro-notes.txt",
    )
    assert spec.title == "Bistro notes"
    assert spec.procedures[0].data_to_collect[0].name == "loyalty_card_number"
    assert [r.text for r in spec.rules] == ["Never promise a table by the window."]
    assert [(h.text, h.queue) for h in spec.handoffs] == [
        ("the customer threatens legal action", "manager")
    ]


def test_markdown_faq_and_question_headings() -> None:
    spec = parse_sop(
        "# Gym\n\n## Joining\n1. Ask for the member's name.\n2. Ask for a phone number.\n\n"
        "## FAQ\n**Q:** Do you have towels?\n\n**A:** Yes, towels are free.\n\n"
        "### Can I freeze my membership?\nYes, for up to 3 months per year.\n"
    )
    assert [(f.question, f.answer) for f in spec.faqs] == [
        ("Do you have towels?", "Yes, towels are free."),
        ("Can I freeze my membership?", "Yes, for up to 3 months per year."),
    ]
    assert [f.name for f in spec.procedures[0].data_to_collect] == ["name", "phone_number"]


def test_pdf_and_docx_sops_parse_like_markdown() -> None:
    pdf_text = extract(
        "acme.pdf",
        make_text_pdf(
            [
                "Acme Returns SOP",
                "Starting a return",
                "1. Ask for the order number.",
                "2. Ask for the email address.",
                "Escalation",
                "Transfer the call to the returns queue when:",
                "- The customer reports an injury.",
            ]
        ),
    )[1]
    spec = parse_sop(pdf_text, document="acme.pdf")
    assert spec.title == "Acme Returns SOP"
    assert [f.name for f in spec.procedures[0].data_to_collect] == ["order_number", "email_address"]
    assert [(h.text, h.queue) for h in spec.handoffs] == [
        ("The customer reports an injury", "returns")
    ]
    docx_text = extract(
        "clinic.docx",
        make_docx(
            [
                ("Title", "Clinic SOP"),
                ("Heading 1", "Booking"),
                ("List Number", "Ask for the name."),
                ("List Number", "Ask for the date of birth."),
                ("Heading 1", "When to transfer"),
                ("List Bullet", "The caller asks for a nurse."),
            ]
        ),
    )[1]
    spec = parse_sop(docx_text, document="clinic.docx")
    assert spec.title == "Clinic SOP"
    assert spec.procedures[0].name == "Booking"
    assert spec.handoffs[0].text == "The caller asks for a nurse"


def test_rule_kinds_and_fields() -> None:
    assert rule_kind("You must confirm the address.") == "must"
    assert rule_kind("Gift cards cannot be refunded.") == "cannot"
    assert rule_kind("Tell the customer the label arrives within 10 minutes.") is None
    assert rule_kind("If the fee is due, tell the caller before booking.") == "conditional"
    assert rule_kind("Refunds take a while.") is None
    (field,) = data_fields("Ask whether the caller is a member or a guest.")
    assert field.name == "whether_member_guest"
    assert field.description == "whether the caller is a member or a guest"
