namespace Router.Crypto.Tests;

/// <summary>
/// The ChaCha20 paths this CPU and runtime configuration can run. Under DOTNET_EnableHWIntrinsic=0 only Scalar
/// remains, under DOTNET_EnableAVX2=0 the wide paths drop out, so the same tests exercise each fallback.
/// </summary>
public static class Paths
{
    public static TheoryData<string> Supported
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (ChaCha20Implementation implementation in Enum.GetValues<ChaCha20Implementation>())
            {
                if (ChaCha20.IsSupported(implementation))
                {
                    data.Add(implementation.ToString());
                }
            }

            return data;
        }
    }
}
