"""Checks an uploaded document before it is stored: real type, size, resolution, sharpness and PDF pages.

Applicants photograph their ID, tax certificate and proof of address with a phone. A photo staff cannot
read costs a round trip days later, so we judge it the moment it arrives and, when it fails, tell the
applicant exactly how to retake it. Everything here works on bytes only: no network, no disk.

Anyone can upload, so a file may lie about itself (a PDF whose page tree lists 100,000 pages, a PNG header
claiming a gigapixel). Opening the file therefore happens in a child process with CPU-time, memory and wall
time limits and a lower priority: a hostile file costs a bounded amount of one child, never the GIL, a
request thread for longer than the limits, or the web process's memory. PDF structure: `pdf_checks`.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageFilter

from bot.service.pdf_checks import examine_pdf, screen_pdf
from locales import N_

MAX_BYTES = 10 * 1024 * 1024
# What one check may cost in its child process: CPU seconds, memory beyond what the child starts with (a
# 12-megapixel photo needs about 60 MB), and wall time before the child is killed (it is niced, so it may wait).
CHECK_CPU_SECONDS = 2
CHECK_MEMORY_BYTES = 384 * 1024 * 1024
CHECK_WALL_SECONDS = 10.0
# Children checking at once per process: the rest wait their turn without holding the GIL.
CONCURRENT_CHECKS = max(1, min(4, os.cpu_count() or 1))
MIN_SHORT_SIDE = 600
# Below Pillow's own 89 MP warning, far above any phone photo that fits in 10 MB: more is a decompression bomb.
MAX_PIXELS = 80_000_000
# Sharpness is judged at the size a person reads the document on screen, whatever the camera resolution.
SHARPNESS_LONG_SIDE = 1000
# Variance of a Laplacian-of-Gaussian at that size. Generated samples (tests/samples.py, with sensor noise)
# measure: sharp document 430-480, sharp mostly blank ID card 85-110 (26-29 at half the contrast), the same
# at 1200x800 blurred with a Gaussian radius of 4 px or more 4.7-5.7 (radius 2: 11-25). 20 sits between,
# nearer the blurred side so that a dim but sharp photo is not refused.
BLUR_THRESHOLD = 20.0

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
ACCEPTED_TYPES = frozenset({JPEG, PNG, WEBP, PDF})
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
# ISO-BMFF brands of HEIC/HEIF/AVIF: iPhones save photos this way; Pillow here cannot open HEIC.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
# EXIF orientations 5-8 store the picture turned by 90 degrees: width and height swap.
_QUARTER_TURNS = {5, 6, 7, 8}

ADVICE = {
    "empty": N_("The file arrived empty. Please send the photo or PDF again."),
    "too_large": N_("The file is too big. Send a regular photo from your phone's camera, or a smaller PDF."),
    "unsupported_type": N_("We can't open this kind of file. Please send a photo (JPG) or a PDF."),
    "heic": N_("Your phone saved the photo as HEIC, which we can't open. Send it as a photo, not as a file, "
               "or send a PDF."),
    "unreadable": N_("We couldn't open the photo; it may be damaged. Please take it again and resend it."),
    "unreadable_pdf": N_("We couldn't open the PDF; it may be damaged. Download it again and resend it, "
                         "or send a photo of the document."),
    "too_small": N_("The photo is too small to read. Take it again up close, so the document fills the screen."),
    "blurry": N_("The photo came out blurry. Rest your phone on a table, use good light and try again."),
    # Keep the number in step with pdf_checks.MAX_PAGES.
    "too_many_pages": N_("The PDF has more than 10 pages. Send only the pages of the document we asked for."),
    "encrypted_pdf": N_("The PDF is protected with a password. Send it without the password, "
                        "or send a photo of the document."),
    "pdf_active_content": N_("For your safety we can't accept PDFs with scripts or actions. Send a photo of "
                             "the document, or print it to a new PDF."),
    "pdf_attachments": N_("The PDF has other files attached inside it. Send only the document, or a photo "
                          "of it."),
    "complex_pdf": N_("The PDF is too complex for us to check. Send a photo of the document, or print it "
                      "to a new PDF."),
    "polyglot": N_("This file mixes a document with other content, so we can't accept it. Please send a "
                   "photo or a plain PDF."),
}


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    """The verdict on one upload.

    Attributes:
        ok: the document can be stored and shown to staff.
        content_type: the type found in the bytes themselves, when it is one we know.
        reason: why it was refused, a short code (`"blurry"`, `"too_small"`, ...), or None.
        advice: an English msgid telling the applicant how to fix it, or None.
        width, height: image size in pixels as the applicant sees it (EXIF orientation applied).
        pages: number of pages of a PDF.
        sharpness: Laplacian variance at SHARPNESS_LONG_SIDE; below BLUR_THRESHOLD is blurry.
    """

    ok: bool
    content_type: str | None = None
    reason: str | None = None
    advice: str | None = None
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    sharpness: float | None = None


def _refuse(reason: str, content_type: str | None = None, *, advice: str | None = None, width: int | None = None,
            height: int | None = None, pages: int | None = None, sharpness: float | None = None) -> DocumentCheck:
    """A refusal; `advice` picks a more specific text than the reason's own (a PDF, a HEIC photo)."""
    return DocumentCheck(False, content_type, reason, ADVICE[advice or reason], width, height, pages, sharpness)


def sniff_type(content: bytes) -> str | None:
    """The content type by magic bytes; the declared type and the file name are never trusted.

    Returns:
        One of ACCEPTED_TYPES, or None for anything else.
    """
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    # The PDF header may follow some junk within the first kilobyte; every reader accepts that.
    if b"%PDF-" in content[:1024]:
        return PDF
    return None


def _is_heif(content: bytes) -> bool:
    return content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS


def check_document(content: bytes, max_bytes: int = MAX_BYTES) -> DocumentCheck:
    """Decide whether an upload is usable, and if not, what the applicant should do.

    The cheap checks run here; opening the file runs in a limited child process (see `inspect`).

    Args:
        content: the uploaded bytes, exactly as received.
        max_bytes: the largest file accepted.

    Returns:
        A DocumentCheck; `advice` is a msgid to render in the conversation's locale.
    """
    if not content:
        return _refuse("empty")
    if len(content) > max_bytes:
        return _refuse("too_large", sniff_type(content))
    content_type = sniff_type(content)
    if content_type is None:
        return _refuse("unsupported_type", advice="heic" if _is_heif(content) else None)
    return _in_child(content, content_type)


def inspect(content: bytes, content_type: str) -> DocumentCheck:
    """Open the file and judge it, in this process: call it only where its cost is bounded (the child)."""
    refusal = _screen(content, content_type)
    if refusal is not None:
        return refusal
    if content_type == PDF:
        return _check_pdf(content)
    return _check_image(content, content_type)


# -- the checking processes -------------------------------------------------------------------------------
# One helper process per web or worker process, started on first use: it imports this module once and then
# forks a child per file, so a child starts in milliseconds with numpy, Pillow and pypdf loaded and never
# inherits a request thread's state. (multiprocessing's forkserver would re-import the parent's __main__ in
# every child: the whole app.) The file goes to the child over a socket handed to it by the helper; the
# verdict comes back as JSON. A child that outlives its limits is killed by them and simply says nothing.
_slots = threading.BoundedSemaphore(CONCURRENT_CHECKS)
_helper_lock = threading.Lock()
_helper: tuple[int, subprocess.Popen[bytes], socket.socket] | None = None  # (pid it serves, process, control)


def _in_child(content: bytes, content_type: str) -> DocumentCheck:
    failed = _refuse("unreadable", content_type, advice="unreadable_pdf" if content_type == PDF else None)
    if not _slots.acquire(timeout=CHECK_WALL_SECONDS):
        return failed
    try:
        ours, theirs = socket.socketpair()
        with ours:
            try:
                with theirs:
                    _hand_to_helper(theirs)
                ours.settimeout(CHECK_WALL_SECONDS)
                ours.sendall(b"%s %d\n" % (content_type.encode(), len(content)))
                ours.sendall(content)
                ours.shutdown(socket.SHUT_WR)
                answer = bytearray()
                while block := ours.recv(65536):
                    answer += block
                verdict = json.loads(answer) if answer else None
            except (OSError, ValueError):  # no helper, a timeout, a child killed by its limits
                verdict = None
    finally:
        _slots.release()
    if not isinstance(verdict, dict):
        return failed
    try:
        return DocumentCheck(**verdict)
    except TypeError:
        return failed


def _hand_to_helper(connection: socket.socket) -> None:
    """Pass one end of a fresh socket pair to the helper, (re)starting it if needed (a fork, a crash)."""
    global _helper
    with _helper_lock:
        for attempt in (1, 2):
            if _helper is None or _helper[0] != os.getpid() or _helper[1].poll() is not None:
                control, remote = socket.socketpair()
                with remote:
                    process = subprocess.Popen(
                        [sys.executable, "-c", f"from {__name__} import serve_children; "
                                               f"serve_children({remote.fileno()})"],
                        stdin=subprocess.DEVNULL, pass_fds=(remote.fileno(),), close_fds=True)
                _helper = (os.getpid(), process, control)
            try:
                socket.send_fds(_helper[2], [b"x"], [connection.fileno()])
                return
            except OSError:
                if attempt == 2:
                    raise
                _helper = None


def serve_children(control_fd: int) -> None:
    """The helper's loop: for each socket received, fork a child that judges one file on it.

    Ends when the process it serves closes the control socket (it exited).
    """
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl+C is for the server, which then closes `control`
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not message:
            return
        for fd in fds:
            if os.fork() == 0:
                try:
                    control.close()
                    _judge_on(socket.socket(fileno=fd))
                finally:
                    os._exit(0)
            os.close(fd)


def _judge_on(connection: socket.socket) -> None:
    """In the child: limit this process, read the file, send the verdict (nothing at all on any failure)."""
    try:
        signal.alarm(int(CHECK_WALL_SECONDS) + 1)  # a child stuck waiting is killed too, not only a busy one
        _limit_this_process()
        stream = connection.makefile("rb")
        content_type, _, size = stream.readline(100).decode().partition(" ")
        content = stream.read(min(int(size), MAX_BYTES))
        verdict = inspect(content, content_type)
        connection.sendall(json.dumps(asdict(verdict)).encode())
    except BaseException:  # MemoryError, and whatever a hostile file provokes: the parent refuses it
        pass
    finally:
        connection.close()


def _limit_this_process() -> None:
    os.nice(5)  # the web process's turns go first (a third of its CPU share when both are busy)
    resource.setrlimit(resource.RLIMIT_CPU, (CHECK_CPU_SECONDS, CHECK_CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + CHECK_MEMORY_BYTES,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file is ever written
    # Pillow's own bomb guard at our limit, its warning (between one and two times that) an error too.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _address_space() -> int:
    """Bytes of address space this process already has (shared libraries, numpy's thread pools)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 512 * 1024 * 1024


# -- what the bytes say before any parser runs ------------------------------------------------------------
_HTML = re.compile(rb"<\s*(?:script|html|body|iframe|svg|object|embed|meta|!doctype)[\s>/]", re.IGNORECASE)
_ZIP_END = b"PK\x05\x06"


def _screen(content: bytes, content_type: str) -> DocumentCheck | None:
    """Refusals that a byte search settles in milliseconds, whatever the file claims about itself."""
    if _HTML.search(content) or _zip_appended(content):
        return _refuse("polyglot", content_type)
    if content_type != PDF:
        return None
    reason, pages = screen_pdf(content)
    return _refuse(reason, PDF, pages=pages) if reason else None


def _zip_appended(content: bytes) -> bool:
    """A ZIP archive glued to the end (its end record lies in the last 64 KB and reaches the last byte)."""
    tail = content[-(65_535 + 22):]
    at = tail.rfind(_ZIP_END)
    return at >= 0 and at + 22 + int.from_bytes(tail[at + 20:at + 22], "little") == len(tail)


def _check_image(content: bytes, content_type: str) -> DocumentCheck:
    try:
        # `formats` keeps Pillow to the one decoder the magic bytes named: less parser surface.
        with Image.open(io.BytesIO(content), formats=[_PILLOW_FORMATS[content_type]]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return _refuse("unreadable", content_type, width=width, height=height)
            if image.getexif().get(0x0112) in _QUARTER_TURNS:
                width, height = height, width
            if min(width, height) < MIN_SHORT_SIDE:
                return _refuse("too_small", content_type, width=width, height=height)
            gray = _reading_size_gray(image)
    except Exception:
        # Pillow raises many kinds of errors on hostile or truncated input (OSError, SyntaxError, ValueError,
        # DecompressionBombError; DecompressionBombWarning too when warnings are errors): all mean unreadable.
        return _refuse("unreadable", content_type)
    # A quarter turn or a mirror does not change a Laplacian's variance, so the pixels need not be rotated.
    sharpness = laplacian_variance(gray)
    if sharpness < BLUR_THRESHOLD:
        return _refuse("blurry", content_type, width=width, height=height, sharpness=sharpness)
    return DocumentCheck(True, content_type, width=width, height=height, sharpness=sharpness)


def _reading_size_gray(image: Image.Image) -> Image.Image:
    """Decode a grayscale copy whose long side is about SHARPNESS_LONG_SIDE.

    For JPEG, `draft` lets the decoder scale by 1/2, 1/4 or 1/8 while decoding, which makes a
    12-megapixel photo several times cheaper; decoding still reads the whole stream, so truncation shows.
    """
    scale = SHARPNESS_LONG_SIDE / max(image.size)
    if image.format == "JPEG" and scale < 1:
        image.draft("L", (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    image.load()
    gray = image.convert("L")
    scale = SHARPNESS_LONG_SIDE / max(gray.size)
    if scale < 1:
        size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    return gray


def laplacian_variance(gray: Image.Image) -> float:
    """How much fine detail an image has: the variance of its Laplacian after a 1 px Gaussian.

    The light Gaussian first (a Laplacian of Gaussian) keeps camera sensor noise from passing for detail,
    so a blurred but grainy photo still measures low.
    """
    pixels = np.asarray(gray.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float32)
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        return 0.0
    centre = pixels[1:-1, 1:-1]
    laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4.0 * centre
    return float(laplacian.var())


def _check_pdf(content: bytes) -> DocumentCheck:
    reason, pages = examine_pdf(content)
    if reason is None:
        return DocumentCheck(True, PDF, pages=pages)
    return _refuse(reason, PDF, advice="unreadable_pdf" if reason == "unreadable" else None, pages=pages)
