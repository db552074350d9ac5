"""The dialog engine's `transitions` machines decide the moves, run the entering, and draw the diagram.

A small shop of two flows, built here, so every route and condition is in plain sight: the machine must
pick the first transition whose condition holds, leave its flow through exits, enter steps from its
`on_enter` callbacks, give its models back after every turn, and be what the diagram shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from transitions.core import Condition

from bot.core.messages import Inbound
from bot.core.state import DialogState
from bot.dialog.engine import Engine
from bot.dialog.machines import LabelledTransition, Position
from flows.diagram import draw, mermaid
from flows.machine import Guard, define, describe
from flows.model import Choice, Data, Flow, Parsed, Question, Route, Step
from flows.registry import FLOWS

NOW = datetime(2026, 3, 2, 10, 0)
CHECKED: list[str] = []  # which conditions ran, in order


def is_member(data: Data) -> bool:
    CHECKED.append("is_member")
    return bool(data.get("member"))


def has_coupon(data: Data) -> bool:
    CHECKED.append("has_coupon")
    return bool(data.get("coupon"))


def parse_size(text: str, data: Data) -> Parsed:
    return Parsed(text.strip()) if text.strip() in ("S", "M", "L") else Parsed(error="Sizes are S, M or L.")


SHOP = Flow("shop", "welcome", (
    Step("welcome", ("Welcome to the shop.",), then="main_menu"),
    Step("main_menu", ("What would you like?",), (
        # A member goes to the lounge, a coupon holder to the counter of the other flow, anyone else to
        # wherever they left that flow: in-flow step, another flow's step, resume point, in that order.
        Choice("buy", "Buy", (Route("lounge", is_member), Route("counter", has_coupon), Route("@resume:tailor"))),
        Choice("join", "Join", "main_menu", sets={"member": True}),
    )),
    Step("lounge", ("Members' lounge.",), (Choice("help", "Help", "@human"),)),
))
TAILOR = Flow("tailor", "ask_size", (
    Step("ask_size", ("Which size?",), question=Question("size", parse_size, (
        Route("lounge", is_member), Route("fitted")))),
    Step("fitted", ("Size %(size)s it is.",), values=lambda context: {"size": context.data["size"]},
         then="counter"),
    Step("counter", ("Pay at the counter.",), (Choice("done", "Done", "@menu"),)),
))


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A fresh engine (the tests below change its machines), checked to leave no model behind."""
    engine = Engine((SHOP, TAILOR))
    CHECKED.clear()
    yield engine
    assert all(machine.models == [] for machine in engine.machines.values())


def turn(engine: Engine, conversation: DialogState, text: str = "", payload: str | None = None) -> list[str]:
    inbound = Inbound("webchat", "shopper", "id", text=text, payload=payload)
    return [reply.text for reply in engine.run(conversation, inbound, NOW).replies]


def at_menu(engine: Engine, **data: Any) -> DialogState:
    conversation = DialogState(locale="en")
    turn(engine, conversation, "hello")
    conversation.data.update(data)
    CHECKED.clear()
    return conversation


@pytest.mark.parametrize(("data", "lands_on", "checked"), [
    ({"member": True, "coupon": True}, "lounge", ["is_member"]),
    ({"coupon": True}, "counter", ["is_member", "has_coupon"]),
    ({}, "ask_size", ["is_member", "has_coupon"]),
])
def test_the_first_transition_whose_condition_holds_wins_and_each_condition_runs_once(
        engine: Engine, data: dict[str, Any], lands_on: str, checked: list[str]) -> None:
    conversation = at_menu(engine, **data)
    turn(engine, conversation, payload="buy")
    assert conversation.state == lands_on
    assert CHECKED == checked  # evaluated by the machine alone, never a second time by hand


def test_a_transition_taken_off_the_machine_is_no_longer_followed(engine: Engine) -> None:
    """The flow data still says "a coupon leads to the counter"; the machine no longer has it, so it decides."""
    engine.machines["shop"].remove_transition("pick_buy", "main_menu", "counter")
    conversation = at_menu(engine, coupon=True)
    turn(engine, conversation, payload="buy")
    assert conversation.state == "ask_size"
    assert CHECKED == ["is_member"]


def test_a_condition_added_to_the_machine_holds_the_move_back(engine: Engine) -> None:
    """With no transition whose conditions all hold, the step is asked again."""
    for transitions in engine.machines["tailor"].events["answer"].transitions.values():
        for transition in transitions:
            transition.conditions.append(Condition(lambda event: False))
    conversation = at_menu(engine)
    turn(engine, conversation, payload="buy")
    assert turn(engine, conversation, "M") == ["Which size?"]
    assert conversation.state == "ask_size"


def test_routes_out_of_a_flow_end_in_exits_that_hand_the_turn_over(engine: Engine) -> None:
    definition = define(SHOP)
    assert definition.exits == {"counter": "counter", "resume_tailor": "@resume:tailor", "cmd_human": "@human"}
    conversation = at_menu(engine)
    assert turn(engine, conversation, payload="buy") == ["Which size?"]
    assert (conversation.flow, conversation.state) == ("tailor", "ask_size")
    assert turn(engine, conversation, "L") == ["Size L it is.", "Pay at the counter."]
    assert turn(engine, conversation, payload="done") == ["What would you like?"]
    assert conversation.flow == "shop"
    assert turn(engine, conversation, payload="buy")[-1] == "Pay at the counter."  # resumed where it was left


def test_every_step_is_entered_through_the_machine(engine: Engine) -> None:
    """A move, a `then`, a command, a resume point and a hand-over from another flow all run `on_enter`."""
    entered: list[str] = []
    for machine in engine.machines.values():
        for name in machine.states:
            if name in engine.steps:
                machine.get_state(name).on_enter.insert(0, lambda event: entered.append(event.model.state))
    conversation = DialogState(locale="en")
    turn(engine, conversation, "hello")  # arrive at welcome, then proceed to main_menu
    turn(engine, conversation, payload="join")  # a move back to the same step
    turn(engine, conversation, "menu")  # a command
    conversation.data["member"] = False
    turn(engine, conversation, payload="buy")  # a resume point in the other flow
    turn(engine, conversation, "S")  # an answer, then a `then`
    turn(engine, conversation, "atrás")  # back, by name
    assert entered == ["welcome", "main_menu", "main_menu", "main_menu", "ask_size", "fitted", "counter", "ask_size"]


def test_the_model_of_a_turn_carries_the_turn_and_is_given_back(engine: Engine) -> None:
    seen: list[Position] = []
    engine.machines["shop"].get_state("lounge").add_callback("enter", lambda event: seen.append(event.model))
    conversation = at_menu(engine, member=True)
    turn(engine, conversation, payload="buy")
    assert [position.turn.conversation for position in seen] == [conversation]
    assert engine.machines["shop"].models == []


def test_a_turn_that_fails_gives_its_model_back(engine: Engine) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("a step that cannot render")

    engine.machines["shop"].get_state("lounge").add_callback("enter", broken)
    conversation = at_menu(engine, member=True)
    with pytest.raises(RuntimeError):
        turn(engine, conversation, payload="buy")
    # the fixture checks that no machine still holds the turn's model


def test_one_engine_serves_many_threads(engine: Engine) -> None:
    def shop(index: int) -> tuple[str, ...]:
        conversation = DialogState(locale="en")
        turn(engine, conversation, "hello")
        conversation.data["member"] = index % 2 == 0
        turn(engine, conversation, payload="buy")
        if conversation.state == "ask_size":
            turn(engine, conversation, "SML"[index % 3])
        return (conversation.state, *conversation.history)

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(shop, range(200)))
    assert together == [shop(index) for index in range(200)]


def test_the_diagram_draws_the_machines_transitions_with_their_conditions() -> None:
    drawn = draw(SHOP)
    assert "main_menu --> lounge: buy [is_member]" in drawn
    assert "main_menu --> counter: buy [has_coupon]" in drawn
    assert "main_menu --> resume_tailor: buy" in drawn
    assert "lounge --> cmd_human: help" in drawn
    whole = mermaid((SHOP, TAILOR))
    assert whole.startswith("stateDiagram-v2\n")
    assert "ask_size --> lounge: size [is_member]" in whole
    assert "fitted --> counter: then" in whole
    assert whole.count('state "counter" as counter') == 1  # an exit to another flow's step meets the real one


def test_every_transition_of_the_real_machines_is_in_the_diagram() -> None:
    engine = Engine(FLOWS)
    drawn = mermaid(FLOWS)
    edges = {line.strip().partition(": ")[0]: line.strip().partition(": ")[2] for line in drawn.splitlines()
             if " --> " in line and not line.strip().startswith("[*]")}
    count = 0
    for machine in engine.machines.values():
        for event in machine.events.values():
            for transition in (t for ts in event.transitions.values() for t in ts):
                if event.name == "arrive":  # re-entering a step by name is not a route of the flow
                    continue
                assert isinstance(transition, LabelledTransition)
                guards = [c.func for c in transition.conditions]
                assert all(isinstance(guard, Guard) for guard in guards)
                label = transition.label + "".join(f" [{describe(guard.when)}]" for guard in guards
                                                   if isinstance(guard, Guard))
                assert label in edges[f"{transition.source} --> {transition.dest}"].split(" | ")
                count += 1
    assert count > 200


def test_conditions_are_named_in_the_diagram() -> None:
    from flows.rules.document_slots import missing

    assert describe(is_member) == "is_member"
    assert describe(missing("id_front")) == "missing(id_front)"
    assert describe(lambda data: bool(data.get("case"))) == "bool(data.get('case'))"


def test_a_flow_that_the_machine_cannot_tell_apart_is_refused() -> None:
    twice = Flow("twice", "a", (Step("a", ("A",), (Choice("x", "X", "a"), Choice("x", "X again", "a"))),))
    with pytest.raises(ValueError, match="same button key"):
        define(twice)
    clash = Flow("clash", "cmd_human", (Step("cmd_human", ("A",), (Choice("x", "X", "@human"),)),))
    with pytest.raises(ValueError, match="taken by another target"):
        define(clash)

