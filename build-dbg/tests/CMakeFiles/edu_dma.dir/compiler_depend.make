# Empty compiler generated dependencies file for edu_dma.
# This may be replaced when dependencies are built.
