"""Samples below the first frame named argv[2], by the next argv[3] frames and by leaf (a py-spy raw profile)."""
import sys, collections
key=sys.argv[2]; depth=int(sys.argv[3]) if len(sys.argv)>3 else 3
c=collections.Counter(); leaf=collections.Counter(); tot=0
for l in open(sys.argv[1]):
    s,_,n=l.rstrip().rpartition(' ')
    fr=[f for f in s.split(';') if not f.startswith('process')]
    idx=[j for j,f in enumerate(fr) if f.startswith(key)]
    if not idx: continue
    i=idx[0]; n=int(n); tot+=n
    c[' > '.join(x.split(' (')[0] for x in fr[i+1:i+1+depth])]+=n
    leaf[fr[-1]]+=n
print("total",tot)
for k,v in c.most_common(25): print(v,k)
print("-- leaf")
for k,v in leaf.most_common(15): print(v,k)
