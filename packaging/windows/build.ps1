<#
.SYNOPSIS
  Build the Windows installer of faceattend: dist\faceattend-<version>-setup.exe

.DESCRIPTION
  Runs on Windows 10/11 x64 with Python 3.11 and Inno Setup 6.3+ (ISCC.exe on the PATH or in its
  default folder; `choco install innosetup` or `winget install JRSoftware.InnoSetup`). Steps:
    1. a build venv (build\pkg-venv) with only the runtime dependencies: CPU torch from
       download.pytorch.org first, then `pip install .`, then PyInstaller;
    2. PyInstaller with packaging\faceattend.spec -> build\pyi-dist\faceattend\
       (faceattend.exe windowed, faceattend-cli.exe console, _internal\);
    3. Inno Setup with packaging\windows\faceattend.iss -> dist\faceattend-<version>-setup.exe.
  Check the result with: build\pyi-dist\faceattend\faceattend-cli.exe --smoke-test

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -Python "py -3.11" -Reuse
#>
param(
    [string]$Python = "python",
    [string]$Torch = "torch==2.13.0",
    [string]$TorchIndex = "https://download.pytorch.org/whl/cpu",
    [string]$PyInstaller = "pyinstaller==6.22.3",
    [switch]$Reuse  # keep an existing build venv
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root
$Venv = Join-Path $Root "build\pkg-venv"
$Py = Join-Path $Venv "Scripts\python.exe"
$Started = Get-Date

function Invoke-Native {
    # PowerShell does not stop on a failing program: check every exit code.
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "failed ($LASTEXITCODE): $Exe $($Arguments -join ' ')" }
}

# The versions the tests ran on (constraints.txt at the top of the repository).
$Constraints = Join-Path $Root "constraints.txt"
function Step([string]$Text) { Write-Host "== $Text ($([int]((Get-Date) - $Started).TotalSeconds) s)" }

# -- 1. build venv --------------------------------------------------------------------------------
Step "venv $Venv"
if (-not $Reuse -or -not (Test-Path $Py)) {
    if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
    $PyParts = $Python -split " "
    $PyExe = $PyParts[0]
    $PyArgs = @()
    if ($PyParts.Length -gt 1) { $PyArgs = $PyParts[1..($PyParts.Length - 1)] }
    Invoke-Native $PyExe ($PyArgs + @("-m", "venv", $Venv))
    Invoke-Native $Py @("-m", "pip", "install", "--quiet", "--upgrade", "pip")
    Invoke-Native $Py @("-m", "pip", "install", "--quiet", $Torch, "--index-url", $TorchIndex)
    Invoke-Native $Py @("-m", "pip", "install", "--quiet", "-c", $Constraints, $PyInstaller)
}
# setuptools builds in build\lib: clear it so no deleted module lingers in the bundle.
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root "build\lib")
Invoke-Native $Py @("-m", "pip", "install", "--quiet", "-c", $Constraints, ".")
Invoke-Native $Py @("-m", "pip", "check")

# Ask the installed package, from outside the source tree, for its version.
Push-Location $env:TEMP
$Version = (& $Py -c "import faceattend; print(faceattend.__version__)").Trim()
Pop-Location
if (-not $Version) { throw "could not read faceattend.__version__" }
Write-Host "   faceattend $Version"

# -- 2. PyInstaller -------------------------------------------------------------------------------
# Run from build\ with the console script, so the analysis sees the installed faceattend.
Step "pyinstaller"
$App = Join-Path $Root "build\pyi-dist\faceattend"
if (Test-Path $App) { Remove-Item -Recurse -Force $App }
Push-Location (Join-Path $Root "build")
try {
    Invoke-Native (Join-Path $Venv "Scripts\pyinstaller.exe") @(
        "--noconfirm", "--log-level", "WARN",
        "--distpath", (Join-Path $Root "build\pyi-dist"),
        "--workpath", (Join-Path $Root "build\pyi-work"),
        (Join-Path $Root "packaging\faceattend.spec"))
} finally { Pop-Location }
foreach ($Exe in @("faceattend.exe", "faceattend-cli.exe")) {
    if (-not (Test-Path (Join-Path $App $Exe))) { throw "PyInstaller made no $Exe" }
}

# -- 3. Inno Setup --------------------------------------------------------------------------------
Step "inno setup"
$Iscc = (Get-Command "iscc.exe" -ErrorAction SilentlyContinue).Source
if (-not $Iscc) {
    $Iscc = @(
        "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
        "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
        "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe"
    ) | Where-Object { Test-Path $_ } | Select-Object -First 1
}
if (-not $Iscc) { throw "ISCC.exe (Inno Setup 6) not found; install it: choco install innosetup" }
$Dist = Join-Path $Root "dist"
New-Item -ItemType Directory -Force $Dist | Out-Null
$IsccArgs = @("/Q", "/DAppVersion=$Version", "/DSourceDir=$App", "/DOutputDir=$Dist")
# Inno Setup wants an .ico: take assets\*.ico, else make one from assets\faceattend.png.
$Icon = Get-ChildItem (Join-Path $Root "assets") -Filter "*.ico" -ErrorAction SilentlyContinue | Select-Object -First 1
$Png = Join-Path $Root "assets\faceattend.png"
if ($Icon) {
    $IsccArgs += "/DIconFile=$($Icon.FullName)"
} elseif (Test-Path $Png) {
    $Ico = Join-Path $Root "build\faceattend.ico"
    Invoke-Native $Py @("-c", "import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])", $Png, $Ico)
    $IsccArgs += "/DIconFile=$Ico"
}
Invoke-Native $Iscc ($IsccArgs + @((Join-Path $Root "packaging\windows\faceattend.iss")))

$Setup = Join-Path $Dist "faceattend-$Version-setup.exe"
if (-not (Test-Path $Setup)) { throw "Inno Setup made no $Setup" }
$AppMB = [int]((Get-ChildItem -Recurse -File $App | Measure-Object -Sum Length).Sum / 1MB)
$SetupMB = [int]((Get-Item $Setup).Length / 1MB)
Step "done: $Setup ($SetupMB MB; unpacked app $AppMB MB)"
