"""Summarise a py-spy raw profile (`py-spy record -s -f raw`) by worker task and by leaf frame; print samples per line."""
import sys, collections
rows=[]
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    rows.append((stack.split(";"), int(n)))
task=collections.Counter(); leaf=collections.Counter()
for fr,n in rows:
    fr2=[f for f in fr if not f.startswith("process ")]
    # task function: frame after _process_worker / run / _forked
    name=None
    for i,f in enumerate(fr2):
        if f.startswith("_process_worker") and i+2 < len(fr2):
            name="worker:"+fr2[i+1].split(" (")[0]+">"+fr2[i+2].split(" (")[0]; break
    if name is None:
        # parent: deepest planner frame at depth up to pipeline-level
        s=[f.split(" (")[0] for f in fr2]
        name="main:"+">".join(s[3:7])
    task[name]+=n
    leaf[fr2[-1] if fr2 else "?"]+=n
for k,v in task.most_common(45): print(v, k)
print("---- leaf")
for k,v in leaf.most_common(40): print(v,k)
