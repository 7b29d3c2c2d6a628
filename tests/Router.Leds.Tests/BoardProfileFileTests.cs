using System.Text.Json;

namespace Router.Leds.Tests;

/// <summary>board/*.json and board/raspi-firmware-custom are for people; the compiled profiles are what routerd uses. They must agree.</summary>
public sealed class BoardProfileFileTests
{
    public static TheoryData<string> Boards => new(BoardProfiles.All.Select(b => b.Name));

    [Theory]
    [MemberData(nameof(Boards))]
    public void The_board_file_matches_the_compiled_profile(string name)
    {
        Assert.True(BoardProfiles.TryGet(name, out BoardProfile profile));
        using JsonDocument file = JsonDocument.Parse(File.ReadAllText(Path.Combine(BoardDirectory(), $"{name}.json")));
        JsonElement json = file.RootElement;

        Assert.Equal(profile.Name, json.GetProperty("name").GetString());
        Assert.Equal(profile.Model, json.GetProperty("model").GetString());
        Assert.Equal(profile.ActLed, json.GetProperty("actLed").GetString());
        Assert.Equal(profile.PwrLed, json.GetProperty("pwrLed").GetString());
        Assert.Equal(profile.GpioChipLabel, json.GetProperty("gpioChipLabel").GetString());
        Assert.Equal(profile.GpioChip, json.GetProperty("gpioChip").GetInt32());
        Assert.Equal(profile.StatusGpio, json.GetProperty("statusGpio").GetInt32());
        Assert.Equal(profile.PeerGpios, json.GetProperty("peerGpios").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(profile.ConfigTxtSection, json.GetProperty("configTxtSection").GetString());
        Assert.Equal(profile.ConfigTxtLines, json.GetProperty("configTxtLines").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(profile.DeviceTree, json.GetProperty("deviceTree").GetString());
        Assert.Equal(profile.StatusLedGpioLine, json.GetProperty("statusLedGpioLine").GetString());
        Assert.Equal(profile.Unverified, json.GetProperty("unverified").GetString());
    }

    [Fact]
    public void Every_board_file_has_a_compiled_profile()
    {
        string[] files = Directory.GetFiles(BoardDirectory(), "*.json").Select(Path.GetFileNameWithoutExtension).Order().ToArray()!;
        Assert.Equal(BoardProfiles.All.Select(b => b.Name).Order(), files);
    }

    [Fact]
    public void The_raspi_firmware_custom_file_is_the_generated_one()
    {
        string file = File.ReadAllText(Path.Combine(BoardDirectory(), "raspi-firmware-custom"));
        Assert.Equal(BoardProfiles.RaspiFirmwareCustom(), file);
    }

    [Fact]
    public void Every_board_names_its_device_tree_and_a_status_led_or_says_why_not()
    {
        foreach (BoardProfile board in BoardProfiles.All)
        {
            Assert.Matches(@"^bcm2[78]\d\d-[a-z0-9-]+\.dtb$", board.DeviceTree);
            Assert.True(board.ActLed is not null || board.PwrLed is not null || board.StatusLedGpioLine is not null, board.Name);
        }
    }

    [Fact]
    public void The_generated_file_has_every_board_section_with_its_lines()
    {
        string[] lines = BoardProfiles.RaspiFirmwareCustom().Split('\n');
        foreach (BoardProfile board in BoardProfiles.All)
        {
            int at = Array.IndexOf(lines, board.ConfigTxtSection);
            Assert.True(at >= 0, board.ConfigTxtSection);
            Assert.Equal(board.ConfigTxtLines, lines.Skip(at + 1).Take(board.ConfigTxtLines.Count));
        }

        Assert.Equal("[all]", lines[^2]);
    }

    [Fact]
    public void Suggested_pins_are_header_gpios_clear_of_i2c_spi_and_uart()
    {
        int[] taken = [0, 1, 2, 3, 7, 8, 9, 10, 11, 14, 15]; // HAT EEPROM, I2C1, SPI0, UART0
        foreach (BoardProfile board in BoardProfiles.All)
        {
            foreach (int pin in board.PeerGpios.Append(board.StatusGpio))
            {
                Assert.InRange(pin, LedOptions.FirstHeaderGpio, LedOptions.LastHeaderGpio);
                Assert.DoesNotContain(pin, taken);
            }
        }
    }

    private static string BoardDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "board");
            if (File.Exists(Path.Combine(candidate, "README.md")) && File.Exists(Path.Combine(dir.FullName, "Router.sln")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("board/ not found above " + AppContext.BaseDirectory);
    }
}
