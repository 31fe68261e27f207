% -- kernels/cpu/norm_matmul_swiglu.c.lua: the SwiGLU form of kernels/cpu/norm_matmul.c.lua.
$(include("kernels/cpu/norm_matmul.c.lua", args))
