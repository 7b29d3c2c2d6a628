using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Router.Daemon.Config;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// router.json as the daemon reads it (ConfigLoader.Parse: the JSON provider, then SchemaWalker and ConfigValidator),
/// from the committed valid configurations: byte-level mutations, and JSON-aware ones that replace, delete or add a
/// value anywhere in the tree with a value of another type, an out-of-range number, an odd string or an inline
/// secret. Properties: nothing throws; a configuration comes back exactly when there is no error; every problem names
/// what is wrong; the same bytes give the same verdict twice; and no problem text repeats an inline secret.
/// </summary>
public sealed class ConfigFuzz(ITestOutputHelper output)
{
    /// <summary>A private key the generator plants inline; the validator must refuse it without echoing it.</summary>
    private const string PlantedSecret = "cHJpdmF0ZS1rZXktdGhhdC1tdXN0LW5ldmVyLWxlYWs=";

    private static readonly JsonNode?[] Replacements =
    [
        null, true, false, 0, -1, 65535, 65536, 2147483648L, 1e308, 1.5, "", " ", "wg0", "eth0", "../../etc/passwd",
        "10.0.0.1/33", "fd00::/129", "1.2.3.4:0", "[::1]:51820", "host:99999", "\u0000", new string('a', 300),
        "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "/etc/router/wg0.key", "/missing.key",
    ];

    private sealed record Input(int Seed, bool Structural, Mutation[] Steps, int[] Edits);

    private sealed class KeyFiles : IKeyFileSource
    {
        public KeyFileResult Read(string path) => path.EndsWith(".key", StringComparison.Ordinal) || path.EndsWith(".psk", StringComparison.Ordinal)
            ? path.Contains("missing", StringComparison.Ordinal)
                ? new(null, $"key file '{path}' does not exist", null)
                : new(new SecretKey(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()), null, null)
            : new(null, $"'{path}' does not hold a key", null);
    }

    [Fact]
    public void MutatedConfigurationsAreJudgedWithoutThrowingAndDeterministically()
    {
        byte[][] seeds = Corpus.Load("config");
        var keyFiles = new KeyFiles();
        var gen = Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Bool, Mutation.Steps(6), Gen.Int[0, 1 << 20].Array[1, 6], (s, st, m, e) => new Input(s, st, m, e));
        long valid = 0, invalid = 0;
        FuzzRun.Run(output, "config", gen, input =>
        {
            byte[] json = input.Structural ? Edit(seeds[input.Seed], input.Edits) : Mutation.Apply(seeds[input.Seed], input.Steps, seeds);
            ConfigLoadResult first = ConfigLoader.Parse(json, keyFiles);
            ConfigLoadResult second = ConfigLoader.Parse(json, keyFiles);
            try
            {
                Assert.Equal(first.HasErrors, first.Config is null);
                Assert.Equal(first.Problems.Select(p => p.ToString()), second.Problems.Select(p => p.ToString()));
                foreach (ConfigProblem p in first.Problems)
                {
                    Assert.False(string.IsNullOrWhiteSpace(p.Message), "a problem without a message");
                    Assert.DoesNotContain(PlantedSecret, p.ToString(), StringComparison.Ordinal);
                }
                Assert.DoesNotContain(PlantedSecret, first.Summary("router.json"), StringComparison.Ordinal);
                if (first.Config is null) invalid++; else valid++;
            }
            finally
            {
                first.Config?.Dispose();
                second.Config?.Dispose();
            }
        }, print: i => i.Structural ? $"seed {i.Seed} edits {string.Join(",", i.Edits)}" : $"seed {i.Seed} + {string.Join(",", i.Steps)}");
        output.WriteLine($"{valid} valid, {invalid} refused");
        Assert.True(valid > 0, "no mutated configuration was valid: the seeds do not reach the validator's end");
    }

    /// <summary>Each edit picks a node of the tree (by number) and replaces it, removes it, or adds a sibling.</summary>
    private static byte[] Edit(byte[] seed, int[] edits)
    {
        JsonNode root = JsonNode.Parse(seed)!;
        foreach (int edit in edits)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            JsonNode target = nodes[edit % nodes.Count];
            JsonNode? value = Replacements[(edit >> 8) % Replacements.Length]?.DeepClone();
            switch ((edit >> 4) % 4)
            {
                case 0 or 1 when target.Parent is JsonObject o:
                    o[target.GetPropertyName()] = value;
                    break;
                case 0 or 1 when target.Parent is JsonArray a:
                    a[target.GetElementIndex()] = value;
                    break;
                case 2 when target.Parent is JsonObject o:
                    o.Remove(target.GetPropertyName());
                    break;
                case 2 when target.Parent is JsonArray a:
                    a.RemoveAt(target.GetElementIndex());
                    break;
                case 3 when target is JsonObject o && (edit & 8) != 0:
                    // An inline secret where a key file belongs: refused, and never repeated in a problem.
                    o[(edit & 1) == 0 ? "privateKey" : "presharedKey"] = PlantedSecret;
                    break;
                case 3 when target is JsonObject o:
                    o["x" + (edit & 7)] = value;
                    break;
                case 3 when target is JsonArray a:
                    a.Add(value);
                    break;
            }
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        nodes.Add(node);
        if (node is JsonObject o)
        {
            foreach (var (_, child) in o.ToList())
                if (child is not null) Collect(child, nodes);
        }
        else if (node is JsonArray a)
        {
            foreach (JsonNode? child in a.ToList())
                if (child is not null) Collect(child, nodes);
        }
    }
}
