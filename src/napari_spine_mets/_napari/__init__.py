"""The napari face of the plugin: the only package that imports napari, qtpy or magicgui."""
