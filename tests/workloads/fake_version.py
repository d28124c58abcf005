# A Python 3.11+ process that claims, to an outside reader, to be an unsupported Python version.
#
#   usage: fake_version.py HEX        e.g. fake_version.py 0x036300f0   (3.99.0 final)
#
# CPython 3.11+ exports the constant Py_Version (PY_VERSION_HEX), which the interpreter itself
# never reads at run time; tools like gilscope read it to learn the target's version. This
# overwrites it in this process's memory only (mprotect + write, nothing on disk changes) and then
# prints "ready" and sleeps until killed. If Py_Version cannot be found or patched it prints
# "skip: <reason>" instead and exits.
import ctypes
import mmap
import sys
import time

PROT_READ, PROT_WRITE = 1, 2


def main():
    wanted = int(sys.argv[1], 0)
    try:
        version = ctypes.c_uint32.in_dll(ctypes.pythonapi, "Py_Version")
    except (ValueError, AttributeError) as error:
        print("skip: Py_Version is not exported here (%s)" % error, flush=True)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = ctypes.addressof(version) & ~(mmap.PAGESIZE - 1)
    if libc.mprotect(page, mmap.PAGESIZE, PROT_READ | PROT_WRITE) != 0:
        print("skip: mprotect failed: errno %d" % ctypes.get_errno(), flush=True)
        return
    version.value = wanted
    libc.mprotect(page, mmap.PAGESIZE, PROT_READ)
    if version.value != wanted:
        print("skip: Py_Version did not change", flush=True)
        return
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
