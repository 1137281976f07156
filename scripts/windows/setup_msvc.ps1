<#
.SYNOPSIS
    Enter the Visual Studio x64 developer environment and run `python -m mmbuild install`.

.DESCRIPTION
    Finds Visual Studio (with the x64 C++ build tools) through vswhere, enters its
    x64 developer environment (Launch-VsDevShell.ps1, else vcvars64.bat), sets
    DISTUTILS_USE_SDK=1 and CUDA_HOME from CUDA_PATH, prints what it found, and runs
    `python -m mmbuild install` with the arguments given to this script.
    Fails with one clear line when Visual Studio, CUDA or Python is missing.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File scripts\windows\setup_msvc.ps1 --mmcv 2.1.0
#>
[CmdletBinding()]
param(
    [switch]$CpuOnly,
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]]$MmbuildArgs
)

$ErrorActionPreference = 'Stop'
if ($MmbuildArgs -contains '--cpu-only') { $CpuOnly = $true }

function Fail([string]$Message) {
    Write-Host "mmbuild setup: error: $Message" -ForegroundColor Red
    exit 2
}

# --- Visual Studio -----------------------------------------------------------
$vswhere = Join-Path ${env:ProgramFiles(x86)} 'Microsoft Visual Studio\Installer\vswhere.exe'
if (-not (Test-Path $vswhere)) {
    Fail "vswhere.exe not found at '$vswhere'. Install Visual Studio 2019 or 2022 with 'Desktop development with C++'."
}
$vsPath = & $vswhere -latest -products '*' -requires Microsoft.VisualStudio.Component.VC.Tools.x86.x64 -property installationPath
if (-not $vsPath) {
    Fail 'no Visual Studio with the x64 C++ build tools (Microsoft.VisualStudio.Component.VC.Tools.x86.x64) was found.'
}
$vsVersion = & $vswhere -latest -products '*' -requires Microsoft.VisualStudio.Component.VC.Tools.x86.x64 -property catalog_productDisplayVersion

$devShell = Join-Path $vsPath 'Common7\Tools\Launch-VsDevShell.ps1'
$vcvars = Join-Path $vsPath 'VC\Auxiliary\Build\vcvars64.bat'
if (Test-Path $devShell) {
    & $devShell -Arch amd64 -HostArch amd64 -SkipAutomaticLocation | Out-Null
} elseif (Test-Path $vcvars) {
    # Run vcvars64.bat in cmd and copy the environment it leaves into this session.
    $lines = & cmd.exe /s /c "`"$vcvars`" >nul 2>&1 && set"
    if ($LASTEXITCODE -ne 0) { Fail "'$vcvars' failed." }
    foreach ($line in $lines) {
        $eq = $line.IndexOf('=')
        if ($eq -gt 0) { Set-Item -Path ("env:" + $line.Substring(0, $eq)) -Value $line.Substring($eq + 1) }
    }
} else {
    Fail "neither Launch-VsDevShell.ps1 nor vcvars64.bat exists under '$vsPath'."
}
$cl = Get-Command cl.exe -ErrorAction SilentlyContinue
if (-not $cl) { Fail 'cl.exe is not on PATH after entering the developer environment.' }
$env:DISTUTILS_USE_SDK = '1'

# --- CUDA ----------------------------------------------------------------------
if (-not $CpuOnly) {
    if (-not $env:CUDA_PATH) {
        Fail 'CUDA_PATH is not set: install the CUDA toolkit, or pass -CpuOnly for CPU ops only.'
    }
    if (-not (Test-Path (Join-Path $env:CUDA_PATH 'bin\nvcc.exe'))) {
        Fail "no bin\nvcc.exe under CUDA_PATH '$($env:CUDA_PATH)'."
    }
    $env:CUDA_HOME = $env:CUDA_PATH
}

# --- Python --------------------------------------------------------------------
$python = Get-Command python -ErrorAction SilentlyContinue
if (-not $python) { Fail 'python is not on PATH: activate the environment that has torch installed.' }
& $python.Source -c "import mmbuild" 2>$null
if ($LASTEXITCODE -ne 0) { Fail "mmbuild is not installed in '$($python.Source)': run 'pip install mmbuild' there." }

Write-Host "Visual Studio : $vsVersion at $vsPath"
Write-Host "cl.exe        : $($cl.Source)"
if ($CpuOnly) { Write-Host 'CUDA          : not used (-CpuOnly)' } else { Write-Host "CUDA_HOME     : $($env:CUDA_HOME)" }
Write-Host "Python        : $($python.Source)"
Write-Host 'DISTUTILS_USE_SDK=1'

$installArgs = @('-m', 'mmbuild', 'install')
if ($CpuOnly -and -not ($MmbuildArgs -contains '--cpu-only')) { $installArgs += '--cpu-only' }
if ($MmbuildArgs) { $installArgs += $MmbuildArgs }
Write-Host "Running: python $($installArgs -join ' ')"
& $python.Source @installArgs
exit $LASTEXITCODE
