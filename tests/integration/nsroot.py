"""Lay files "installed" by a test over the host, without touching the host.

enter() moves the test process into a private mount namespace (and, with
net=True, a network namespace of its own with only loopback up).  There,
overlay() lays directories read-only over existing host directories
(e.g. a package's usr/bin over /usr/bin: the host's programs plus the
package's), and writable() binds a private writable directory at a path
the host may not have (/var/lib/spoa-iam, /run/spoa-iam).  Everything is
undone when the process exits: the host never sees any of it.

Root only.  Call enter() first, before any thread is started (unshare of
the mount namespace fails in a threaded process).
"""
import ctypes
import os
import subprocess
import tempfile

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000


def usable():
    """None if this machine can do it, else why not."""
    if os.geteuid() != 0:
        return "needs root (private mount namespace, overlayfs)"
    for tool in ("mount", "ip"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"],
                          capture_output=True).returncode != 0:
            return f"{tool} is missing"
    try:
        with open("/proc/filesystems") as f:
            if "overlay" not in f.read():
                subprocess.run(["modprobe", "overlay"], capture_output=True)
    except OSError:
        pass
    return None


def enter(net=False):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS | (CLONE_NEWNET if net else 0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    if net:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def overlay(target, *layers):
    """Lay ${layers} (the first on top) read-only over directory ${target}."""
    lower = ":".join([os.path.abspath(p) for p in layers] + [target])
    r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower}",
                        target], capture_output=True, text=True)
    if r.returncode != 0:
        raise OSError(f"overlay on {target}: {r.stderr.strip()}")


def writable(path, src, scratch):
    """Bind directory ${src} at ${path}; if ${path} does not exist, it is made
    in a layer (under ${scratch}) laid over its nearest existing parent."""
    if not os.path.isdir(path):
        parent = os.path.dirname(path)
        while not os.path.isdir(parent):
            parent = os.path.dirname(parent)
        layer = tempfile.mkdtemp(prefix="layer-", dir=scratch)
        # The merged directory takes the top layer's owner and mode.
        st = os.stat(parent)
        os.chown(layer, st.st_uid, st.st_gid)
        os.chmod(layer, st.st_mode & 0o7777)
        os.makedirs(os.path.join(layer, os.path.relpath(path, parent)))
        overlay(parent, layer)
    subprocess.run(["mount", "--bind", src, path], check=True)
