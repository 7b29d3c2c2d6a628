using System.Text.Json;

namespace Router.Crypto.Tests;

/// <summary>
/// One Project Wycheproof test-vector file from wycheproof/ (copied byte for byte, see wycheproof/SOURCE.md),
/// flattened to its tests, each carrying the parameters of its group. Only the fields the tests read are kept.
/// </summary>
internal sealed class WycheproofFile
{
    private WycheproofFile(string name, int declaredCount, IReadOnlyList<WycheproofTest> tests)
    {
        Name = name;
        DeclaredCount = declaredCount;
        Tests = tests;
    }

    public string Name { get; }

    /// <summary>The file's own "numberOfTests": the loader must have found exactly this many.</summary>
    public int DeclaredCount { get; }

    public IReadOnlyList<WycheproofTest> Tests { get; }

    public static WycheproofFile Load(string fileName)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "wycheproof", fileName);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = document.RootElement;
        var tests = new List<WycheproofTest>();
        foreach (JsonElement group in root.GetProperty("testGroups").EnumerateArray())
        {
            int ivBits = group.TryGetProperty("ivSize", out JsonElement iv) ? iv.GetInt32() : 0;
            foreach (JsonElement test in group.GetProperty("tests").EnumerateArray())
            {
                var fields = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                foreach (JsonProperty property in test.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String && property.Name is not ("result" or "comment"))
                    {
                        fields[property.Name] = Convert.FromHexString(property.Value.GetString()!);
                    }
                }

                var flags = new List<string>();
                foreach (JsonElement flag in test.GetProperty("flags").EnumerateArray())
                {
                    flags.Add(flag.GetString()!);
                }

                tests.Add(new WycheproofTest(
                    test.GetProperty("tcId").GetInt32(),
                    test.GetProperty("result").GetString()!,
                    flags,
                    ivBits,
                    fields));
            }
        }

        return new WycheproofFile(fileName, root.GetProperty("numberOfTests").GetInt32(), tests);
    }
}

/// <summary>One vector: its id, expected result ("valid", "invalid" or "acceptable"), flags and hex fields decoded.</summary>
internal sealed record WycheproofTest(int TcId, string Result, IReadOnlyList<string> Flags, int GroupIvBits, IReadOnlyDictionary<string, byte[]> Fields)
{
    public byte[] this[string field] => Fields[field];
}
