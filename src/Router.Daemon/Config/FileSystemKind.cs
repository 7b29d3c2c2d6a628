using Router.Daemon.Interop;

namespace Router.Daemon.Config;

/// <summary>
/// Whether a path's filesystem keeps Unix permissions. FAT (the Pi's /boot/firmware) does not: every file shows the
/// mount's fmask, so a "readable by others" warning there would be noise the user cannot act on.
/// </summary>
internal static class FileSystemKind
{
    /// <summary>statfs f_type of FAT12/16/32 (vfat and msdos).</summary>
    public const long MsdosSuperMagic = 0x4d44;

    /// <summary>statfs f_type of exFAT, which SD cards larger than 32 GB often come formatted with.</summary>
    public const long ExfatSuperMagic = 0x2011BAB0;

    public static bool HasUnixPermissions(string path)
    {
        long? type = Libc.FileSystemType(path);
        return type is not (MsdosSuperMagic or ExfatSuperMagic);
    }
}
