"""Builders for synthetic DICOM and NIfTI files, shared by the volume tests."""

from __future__ import annotations

import os

import numpy as np

PATIENT = {"PatientName": "Doe^Jane^Secret", "PatientID": "PID-98765-XYZ", "PatientBirthDate": "19700101"}


def make_dicom(path, pixels, photometric="MONOCHROME2", bits_stored=None, sop_class=None, **attributes):
    """Write ``pixels`` ((rows, cols) or (frames, rows, cols)) as an MR DICOM file; return the path.

    Every file carries the patient attributes in ``PATIENT``, so tests can check they never leak.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class or MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    for keyword, value in PATIENT.items():
        setattr(ds, keyword, value)
    if pixels is not None:
        pixels = np.asarray(pixels)
        ds.set_pixel_data(pixels, photometric, bits_stored or pixels.dtype.itemsize * 8)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.save_as(str(path), enforce_file_format=True)
    return str(path)


def make_nifti(path, data, affine=None, version=1):
    """Write ``data`` with ``affine`` (default: identity = RAS, 1 mm) as NIfTI; return the path."""
    import nibabel as nib

    klass = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    nib.save(klass(np.asarray(data), np.eye(4) if affine is None else affine), str(path))
    return str(path)


def rename(path, new_name):
    """Move ``path`` to ``new_name`` in the same folder (e.g. drop its extension); return it."""
    target = os.path.join(os.path.dirname(path), new_name)
    os.replace(path, target)
    return target
