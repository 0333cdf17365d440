"""The HDF5 access layer: one h5py-like facade over pyfive or h5py."""
