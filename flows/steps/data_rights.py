"""What we hold about you and how to delete it: "mis datos" and "borrar mis datos".

"mis datos" shows, in plain words, every piece of data the assistant has kept from the conversation.
"borrar mis datos" asks for an explicit confirmation before anything is erased; "no" leaves
everything as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.events import DialogEvent
from flows.model import Choice, Context, Flow, Step
from flows.rules.records import ITEMS, display
from locales import N_, translate


def held_data(context: Context) -> Mapping[str, Any]:
    """A readable list of the stored fields, or a line saying there are none."""
    lines = [f"• {translate(context.locale, label)}: {display(key, context.data[key], context.locale)}"
             for label, key, _ in ITEMS if context.data.get(key) not in (None, "", [])]
    if not lines:
        return {"summary": translate(context.locale, N_("I have no personal data of yours saved."))}
    return {"summary": "\n".join(lines)}


STEPS = (
    Step("my_data", (N_("*Your data with us*\n%(summary)s\n\nTo correct something, write *inscribirme* and "
                        "choose it in the summary of your data."),), (
        Choice("delete", N_("Delete my data"), "confirm_delete", ("borrar", "eliminar", "borren", "borrar todo",
                                                                  "borralos", "eliminen")),
        Choice("oppose", N_("Stop using my data for messages"), "confirm_opposition", (
            "oponerme", "oposicion", "no quiero que me manden", "no me manden", "dejen de mandarme",
            "ya no quiero mensajes", "no quiero mensajes")),
        Choice("menu", N_("Main menu"), "@menu", ("menu",)),
    ), where=N_("your data"), values=held_data, event=DialogEvent.DATA_ACCESS),
    Step("confirm_opposition", (N_(
        "If you object, we will stop every reminder and notice that is not essential to your procedure. "
        "Do you want that?"),), (
        Choice("yes", N_("Yes, stop them"), "opposition_done", ("si", "yes"), explicit=True),
        Choice("no", N_("No, keep them"), "@back", ("no",)),
    ), where=N_("your data")),
    Step("opposition_done", (N_("Done: we will only write to you about your procedure when you ask us."),),
         then="main_menu", where=N_("your data"), resumable=False, event=DialogEvent.OPPOSITION),
    Step("confirm_delete", (N_(
        "Are you sure you want me to delete your personal data? This cannot be undone."
    ),), (
        Choice("yes", N_("Yes, delete it"), "data_deleted", ("si", "si borrar", "yes", "borrar"),
               {"_erase": True}, explicit=True),
        Choice("no", N_("No, keep it"), "@back", ("no", "keep", "conservar")),
    ), where=N_("deleting your data")),
    Step("data_deleted", (N_("Done: I deleted your personal data from this conversation."),),
         then="main_menu", where=N_("deleting your data")),
)

FLOW = Flow("data_rights", "my_data", STEPS)
