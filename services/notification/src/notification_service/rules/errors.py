"""Why a rule is refused when it is saved: its template is out of its reach, broken, or lacks
text for one of its channels. Each a 422 with a stable ``code``."""

from __future__ import annotations

from collections.abc import Sequence

from city_shared.errors import FieldError, ValidationFailed

__all__ = ["RuleTemplateBroken", "RuleTemplateLacksChannel", "RuleTemplateMissing"]


class RuleTemplateMissing(ValidationFailed):
    """422: no template ``template_key`` in the rule's reach: the department's own or a
    tenant-wide one for a department rule, a tenant-wide one for a tenant-wide rule."""

    code = "rule_template_missing"
    title = "Rule names a missing template"

    def __init__(self, template_key: str, department: str | None) -> None:
        scope = f"department '{department}'" if department else "the whole tenant"
        super().__init__(
            f"No template '{template_key}' for {scope}; create it first.",
            errors=[FieldError(loc=["body", "template_key"], msg="No such template.",
                               type="template_missing")],
            extra={"template_key": template_key})


class RuleTemplateBroken(ValidationFailed):
    """422: the template's current version is stored broken; save a valid version first."""

    code = "rule_template_broken"
    title = "Rule names a broken template"

    def __init__(self, template_ids: Sequence[str]) -> None:
        super().__init__("The template's current version is not valid; save a new version.",
                         extra={"templates": list(template_ids)})


class RuleTemplateLacksChannel(ValidationFailed):
    """422: a template the rule would render has no text for some of its channels (in some
    locale); ``channels`` names them, ``templates`` the template ids."""

    code = "rule_template_lacks_channel"
    title = "Template lacks a channel of the rule"

    def __init__(self, channels: Sequence[str], template_ids: Sequence[str]) -> None:
        super().__init__(
            f"The template has no text for: {', '.join(channels)}.",
            errors=[FieldError(loc=["body", "channels"],
                               msg=f"No template text for {c}.", type="template_lacks_channel")
                    for c in channels],
            extra={"channels": list(channels), "templates": list(template_ids)})
