"""Exceptions with one-line messages a person can act on."""


class ScanError(Exception):
    """A scan could not be read. ``str(err)`` is one line naming the file and the problem."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class EmptyFileError(ScanError):
    pass


class NotAnImageError(ScanError):
    pass


class TruncatedImageError(ScanError):
    pass


class ImageTooLargeError(ScanError):
    pass


class UnreadableFileError(ScanError):
    """Missing, a directory, no permission, or another OS-level failure."""


class ModelError(Exception):
    """The model or its card is missing, corrupt, tampered with or unusable."""


class CorruptHeaderError(ScanError):
    """A DICOM/NIfTI header that cannot be parsed or contradicts the data it describes."""


class NoPixelDataError(ScanError):
    """A valid DICOM file that carries no image (a report, a presentation state, ...)."""


class UnsupportedCompressionError(ScanError):
    """Pixel data compressed with a transfer syntax no installed decoder handles."""


class UnsupportedImageError(ScanError):
    """A readable file whose image kind this application does not handle (e.g. a colour model)."""


class IndexOutOfRangeError(ScanError):
    """A slice/frame index outside the scan."""
