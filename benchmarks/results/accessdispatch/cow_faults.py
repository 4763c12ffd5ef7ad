import os, time, gc, resource
gc.disable()
objs = [str(i) * 3 for i in range(15_000_000)]   # ~1 GB of str objects
def touch():
    t = time.process_time(); r0 = resource.getrusage(resource.RUSAGE_SELF)
    n = 0
    for o in objs:
        n += 1
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return time.process_time() - t, r1.ru_minflt - r0.ru_minflt
print("before fork", touch())
print("again", touch())
pid = os.fork()
if pid == 0:
    time.sleep(1.0); os._exit(0)
os.waitpid(pid, 0)
print("after child exit", touch())
print("again", touch())
pid = os.fork()
if pid == 0:
    time.sleep(5.0); os._exit(0)
print("child alive", touch())
os.waitpid(pid, 0)
