"""Global commands: words that work in every state (menu, atrás, ayuda, asesor, estado, idioma...)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.text import normalise
from locales import N_


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    title: str  # msgid of its button
    words: tuple[str, ...]


COMMANDS: tuple[Command, ...] = (
    Command("menu", N_("Main menu"), ("menu", "menu principal", "inicio", "start", "main menu", "home")),
    Command("back", N_("Back"), ("atras", "regresar", "volver", "back", "go back")),
    Command("help", N_("Help"), ("ayuda", "help", "auxilio", "comandos", "commands")),
    Command("human", N_("Talk to a person"), (
        "asesor", "agente", "humano", "persona", "hablar con un asesor", "hablar con asesor",
        "quiero un asesor", "hablar con una persona", "human", "agent", "person", "talk to a person",
        "operator", "operador",
    )),
    Command("status", N_("My case status"), ("estado", "estatus", "status", "mi tramite", "mi estado")),
    Command("language", N_("Language"), ("idioma", "language", "lenguaje", "cambiar idioma")),
    Command("cancel", N_("Cancel"), ("cancelar", "cancel", "cancela")),
    Command("my_data", N_("My data"), ("mis datos", "my data", "ver mis datos")),
    Command("delete_data", N_("Delete my data"), (
        "borrar mis datos", "eliminar mis datos", "borra mis datos", "delete my data", "erase my data",
    )),
    Command("oppose", N_("Stop using my data for messages"), ("me opongo", "oposicion", "oponerme",
                                                              "no usen mis datos", "i object")),
    Command("paid", N_("I already paid"), ("ya pague", "ya pague la cuota", "ya pague el imss", "already paid",
                                           "i paid", "i already paid")),
    Command("cancel_reminders", N_("Cancel reminders"), ("cancelar recordatorios", "cancelar los recordatorios",
                                                         "ya no quiero recordatorios", "cancel reminders",
                                                         "stop reminders")),
    Command("bot", N_("Back to the assistant"), ("bot", "asistente", "volver al asistente", "assistant")),
)
GREETINGS = frozenset({
    "hola", "holi", "hello", "hi", "hey", "buenas", "buenos dias", "buenas tardes", "buenas noches",
    "que tal", "good morning", "good afternoon",
})
BY_NAME = {command.name: command for command in COMMANDS}
_BY_WORD = {normalise(word): command.name for command in COMMANDS for word in command.words}


def find_command(text: str, payload: str | None) -> str | None:
    """Name the global command a message invokes: a `cmd:` button payload, `/comando`, or its exact words."""
    if payload and payload.startswith("cmd:"):
        name = payload.removeprefix("cmd:")
        return name if name in BY_NAME else None
    said = normalise(text)
    return _BY_WORD.get(said)


def is_greeting(text: str) -> bool:
    return normalise(text) in GREETINGS
