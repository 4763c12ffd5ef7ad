"""py-spy raw stacks as a tree under the first frame matching ANCHOR, to DEPTH levels, shares of at least MINPCT: tree.py RAW ANCHOR DEPTH [MINPCT]."""
import collections,re,sys
path=sys.argv[1]; anchor=sys.argv[2]; depth=int(sys.argv[3]); minpct=float(sys.argv[4]) if len(sys.argv)>4 else 0.5
c=collections.Counter();tot=0
for line in open(path):
    stack,_,n=line.rstrip('\n').rpartition(' ');n=int(n)
    fr=[re.sub(r" \(.*/(site-packages/)?", " (", f) for f in stack.split(';')]
    idx=[i for i,f in enumerate(fr) if anchor in f]
    if not idx: continue
    tot+=n
    sub=fr[idx[0]:idx[0]+depth+1]
    for d in range(1,len(sub)+1):
        c[tuple(sub[:d])]+=n
print('total',tot)
for k in sorted(c):
    v=c[k]
    if 100*v/tot>=minpct: print(f"{100*v/tot:5.1f}% {v:5d} "+"  "*(len(k)-1)+k[-1])
