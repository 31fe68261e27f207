% -- program/forward_calls.lua: the body of the forward function, one kernel
% -- call per planned node, in order; shared by every target's program
% -- template. args.head is the target's leading arguments ("ctx, b" on the
% -- cpu, "c, T, L" on cuda); the rest is the uniform kernel signature.
% for _, n in ipairs(spec.nodes) do
%   local function inp(i) return n.ins[i] and n.ins[i].ptr or "NULL" end
%   local function wt(i) return n.w[i] and n.w[i].ptr or "NULL" end
    /* %$(n.id) $(n.name) */
    $(n.kernel)($(args.head), $(n.layer), $(inp(1)), $(inp(2)), $(inp(3)), $(n.out), $(wt(1)), $(wt(2)), $(wt(3)),
                $(n.scratch));
% end
