"""The dialog as a Mermaid state diagram, drawn from the flow data itself so it cannot drift."""

from __future__ import annotations

from collections.abc import Sequence

from flows.model import Flow, Route


def _targets(goto: str | tuple[Route, ...] | None) -> list[str]:
    if goto is None:
        return []
    return [goto] if isinstance(goto, str) else [route.goto for route in goto]


def mermaid(flows: Sequence[Flow]) -> str:
    """Render every flow as a `stateDiagram-v2`: one box per flow, an edge per button or answer."""
    lines = ["stateDiagram-v2"]
    edges: list[str] = []
    for flow in flows:
        lines.append(f"    state {flow.name} {{")
        lines.append(f"        [*] --> {flow.initial}")
        for step in flow.steps:
            lines.append(f"        {step.name}")
            labelled: list[tuple[str, str]] = [(t, c.key) for c in step.choices for t in _targets(c.goto)]
            if step.question:
                labelled += [(t, step.question.field) for t in _targets(step.question.goto)]
            if step.upload:
                labelled += [(t, step.upload.slot) for t in _targets(step.upload.goto)]
            labelled += [(t, "then") for t in _targets(step.then)]
            for target, label in labelled:
                target = "main_menu" if target in ("@menu", "@cancel") else target
                if target.startswith("@"):
                    target = "cmd_" + target[1:].replace(":", "_")
                edges.append(f"    {step.name} --> {target}: {label}")
        lines.append("    }")
    return "\n".join(lines + sorted(set(edges), key=edges.index)) + "\n"
