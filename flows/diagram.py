"""The dialog as a Mermaid state diagram, drawn by `transitions` from the flows' machine definitions.

Each flow's definition (`flows.machine`, the one the dialog engine builds its machines from) becomes a
`GraphMachine` with the Mermaid engine (no graphviz needed), conditions shown. The drawings are then
put together as one diagram: a box per flow holding its steps, the exits to commands and resume points
outside the boxes, and every transition between them. The per-node styles `transitions` writes are left
out: they mark a live model's state, and this diagram has none.
"""

from __future__ import annotations

from collections.abc import Sequence

from transitions.extensions import GraphMachine

from flows.machine import define
from flows.model import Flow

INDENT = "  "


def draw(flow: Flow) -> str:
    """One flow's machine as `transitions` draws it in Mermaid."""
    definition = define(flow)
    machine = GraphMachine(model=None, states=[*definition.steps, *definition.exits], initial=definition.initial,
                           transitions=list(definition.transitions), auto_transitions=False, show_conditions=True,
                           graph_engine="mermaid", title=flow.name)
    return machine.graph_cls(machine).get_graph().draw(None) or ""


def mermaid(flows: Sequence[Flow]) -> str:
    """Render every flow as one `stateDiagram-v2`: a box per flow, an edge per transition with its conditions."""
    owned = {step.name for flow in flows for step in flow.steps}
    header: list[str] = []
    boxes: list[str] = []
    loose: list[str] = []  # exits to commands and resume points, drawn once outside the boxes
    edges: list[str] = []
    for flow in flows:
        lines = [line.strip() for line in draw(flow).splitlines()]
        box = [f"state {flow.name} {{"]
        for line in lines[lines.index("stateDiagram-v2") + 1:]:
            if line.startswith("direction ") and line not in header:
                header.append(line)
            elif line.startswith("[*] --> "):
                box.insert(1, INDENT + line)
            elif line.startswith('state "'):
                node = line.rpartition(" as ")[2]
                if node in {step.name for step in flow.steps}:
                    box.append(INDENT + line)
                elif node not in owned and line not in loose:
                    loose.append(line)
            elif " --> " in line:
                edges.append(line)
        boxes += [*box, "}"]
    body = header + boxes + loose + edges
    return "\n".join(["stateDiagram-v2", *(INDENT + line for line in body)]) + "\n"
