using System.Text.Json;

namespace Router.Daemon.Config;

/// <summary>
/// Finds a field written twice in one JSON object. Microsoft.Extensions.Configuration flattens the file into
/// case-insensitive "a:b:0:c" keys: two leaves with one name throw, but two objects or arrays with one name (say, a
/// second "peers" block pasted below the first) silently merge element by element. Caught here, on the raw JSON.
/// </summary>
internal static class DuplicateFields
{
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Adds an error per duplicate; returns false (adding nothing) if the text is not JSON, which the provider then reports.</summary>
    public static bool Scan(ReadOnlyMemory<byte> json, List<ConfigProblem> problems)
    {
        try
        {
            using var document = JsonDocument.Parse(json, Options);
            Walk(document.RootElement, "", problems);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a name that is not valid UTF-8 (JsonDocument checks it only when read).
            return false;
        }
    }

    private static void Walk(JsonElement element, string path, List<ConfigProblem> problems)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in element.EnumerateObject())
            {
                string childPath = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                if (seen.TryGetValue(property.Name, out string? first))
                    problems.Add(ConfigProblem.Error(childPath, $"'{property.Name}' appears twice in this object (also as '{first}'); expected each field once"));
                else
                    seen[property.Name] = property.Name;
                Walk(property.Value, childPath, problems);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray())
                Walk(item, $"{path}[{i++}]", problems);
        }
    }
}
