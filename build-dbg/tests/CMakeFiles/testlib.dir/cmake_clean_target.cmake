file(REMOVE_RECURSE
  "libtestlib.a"
)
