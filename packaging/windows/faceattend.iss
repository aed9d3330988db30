; Inno Setup script for faceattend (Inno Setup 6.3 or newer; 6.6 changed CreateCustomForm, both work).
; packaging/windows/build.ps1 compiles it after PyInstaller:
;   iscc /DAppVersion=0.1.0 /DSourceDir=<repo>\build\pyi-dist\faceattend /DOutputDir=<repo>\dist
;        [/DIconFile=<repo>\assets\faceattend.ico] packaging\windows\faceattend.iss
; -> dist\faceattend-<version>-setup.exe
;
; Installs per user by default (no administrator rights; into %LOCALAPPDATA%\Programs\faceattend);
; the first page lets an administrator install for all users instead. Start-menu entry, optional
; desktop icon, an uninstaller in "Apps & features".
;
; Per-user data (%LOCALAPPDATA%\faceattend: the database, settings and fine-tuned models, as
; platformdirs.user_data_dir("faceattend", appauthor=False) puts them) is KEPT on uninstall unless
; the user ticks "Also delete ..." in the uninstaller; a silent uninstall keeps it unless run with
; /REMOVEUSERDATA. The converted-weights cache (%LOCALAPPDATA%\faceattend\Cache) is always removed:
; the app rebuilds it on its next first start.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=x.y.z
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\pyi-dist\faceattend"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#define AppName "faceattend"
#define AppExe "faceattend.exe"

[Setup]
; A fixed AppId: upgrades replace the previous version in place. Never change it.
AppId={{6B1F0C1E-4A57-4C52-9B0E-FACEA77E0D01}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=faceattend developers
AppComments=Offline face-recognition attendance
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename={#AppName}-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
LZMAUseSeparateProcess=yes
LZMANumBlockThreads=4
WizardStyle=modern
UninstallDisplayName={#AppName} {#AppVersion}
UninstallDisplayIcon={app}\{#AppExe}
CloseApplications=yes
#ifdef IconFile
SetupIconFile={#IconFile}
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole PyInstaller folder: faceattend.exe (windowed), faceattend-cli.exe (console) and _internal\.
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade must not keep libraries the new version no longer ships.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Offline face-recognition attendance"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
var
  RemoveUserData: Boolean;

function UserDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\{#AppName}');
end;

{ Asks, with an unticked box, whether to delete the per-user data too. False cancels the uninstall. }
function AskAboutUserData(): Boolean;
var
  Form: TSetupForm;
  Info: TNewStaticText;
  Box: TNewCheckBox;
  OkButton, CancelButton: TNewButton;
begin
#if Ver >= EncodeVer(6, 6, 0)
  Form := CreateCustomForm(440, 170, True, True);  { 6.6+: sizes given upfront, scaled by Setup }
#else
  Form := CreateCustomForm();
  Form.ClientWidth := ScaleX(440);
  Form.ClientHeight := ScaleY(170);
#endif
  try
    Form.Caption := 'Uninstall {#AppName}';
    Info := TNewStaticText.Create(Form);
    Info.Parent := Form;
    Info.Left := ScaleX(16);
    Info.Top := ScaleY(16);
    Info.Width := Form.ClientWidth - ScaleX(32);
    Info.WordWrap := True;
    Info.Caption := '{#AppName} will be removed. Your people, attendance records and settings in '
      + UserDataDir() + ' are kept, so a later install finds them again.';
    Box := TNewCheckBox.Create(Form);
    Box.Parent := Form;
    Box.Left := ScaleX(16);
    Box.Top := ScaleY(84);
    Box.Width := Form.ClientWidth - ScaleX(32);
    Box.Height := ScaleY(20);
    Box.Caption := 'Also delete my {#AppName} data (people, attendance, settings)';
    Box.Checked := False;
    OkButton := TNewButton.Create(Form);
    OkButton.Parent := Form;
    OkButton.Caption := 'Uninstall';
    OkButton.Width := ScaleX(90);
    OkButton.Height := ScaleY(26);
    OkButton.Left := Form.ClientWidth - ScaleX(16 + 90 + 8 + 90);
    OkButton.Top := Form.ClientHeight - ScaleY(26 + 14);
    OkButton.ModalResult := mrOk;
    OkButton.Default := True;
    CancelButton := TNewButton.Create(Form);
    CancelButton.Parent := Form;
    CancelButton.Caption := SetupMessage(msgButtonCancel);
    CancelButton.Width := ScaleX(90);
    CancelButton.Height := ScaleY(26);
    CancelButton.Left := Form.ClientWidth - ScaleX(16 + 90);
    CancelButton.Top := OkButton.Top;
    CancelButton.ModalResult := mrCancel;
    CancelButton.Cancel := True;
    Result := Form.ShowModal() = mrOk;
    RemoveUserData := Result and Box.Checked;
  finally
    Form.Free();
  end;
end;

function InitializeUninstall(): Boolean;
begin
  RemoveUserData := False;
  Result := True;
  if UninstallSilent() then
    RemoveUserData := Pos('/REMOVEUSERDATA', Uppercase(GetCmdTail())) > 0
  else if DirExists(UserDataDir()) then
    Result := AskAboutUserData();
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
  begin
    DelTree(UserDataDir() + '\Cache', True, True, True);
    if RemoveUserData then
      DelTree(UserDataDir(), True, True, True)
    else
      RemoveDir(UserDataDir());  { only if it is empty }
  end;
end;
