% -- kernels/cuda/matmul_add.cu.lua: one of the projection kernels of kernels/cuda/proj.cu.lua.
$(include("kernels/cuda/proj.cu.lua", args))
