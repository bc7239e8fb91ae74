file(REMOVE_RECURSE
  "CMakeFiles/held_pages.dir/vm/held_pages.c.o"
  "CMakeFiles/held_pages.dir/vm/held_pages.c.o.d"
  "held_pages"
  "held_pages.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/held_pages.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
