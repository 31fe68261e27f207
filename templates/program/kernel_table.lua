% -- program/kernel_table.lua: the kernel table `info` prints (op, name,
% -- launches per step); shared by every target's program template.
% local uses = {}
% for _, n in ipairs(spec.nodes) do uses[n.kernel] = (uses[n.kernel] or 0) + 1 end
static const char KERNELS[] =
% for _, k in ipairs(spec.kernels) do
    "$(string.format("%-14s %-60s x%d", k.op, k.name, uses[k.name]))\n"
% end
    "";
