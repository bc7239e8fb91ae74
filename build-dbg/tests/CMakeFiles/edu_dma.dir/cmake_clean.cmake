file(REMOVE_RECURSE
  "CMakeFiles/edu_dma.dir/vm/edu_dma.c.o"
  "CMakeFiles/edu_dma.dir/vm/edu_dma.c.o.d"
  "edu_dma"
  "edu_dma.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/edu_dma.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
