// `facekit gradcam IMAGE --arch A --weights W [--layer NAME] [--class K | --reference IMG2] --out HEAT.png`:
// where a recognition network looks (models/explain/gradcam.h, reference pipelines.md §7). The largest face
// (MTCNN) is cropped as the architecture expects (models/recognition/face_embedder.h), or with --no-detect the
// image is taken as an already-cropped face (resized to the input size). The map explains a class
// logit (models with a classifier: the VGGFace2 nets, inception_resnet_v1 with logits,
// resnet50_torchvision; the arg max unless --class) or, with --reference, the cosine between the
// face's embedding and the embedding of the largest face of IMG2 (embedding models).
// Writes HEAT.png (jet colour map), <stem>_overlay.png (0.5 face crop + 0.5 heat map) and <stem>.npy
// (the normalised map, float32 H x W, values in [0, 1]) next to it, and prints a JSON summary.
// Tests: tests/models/explain/test_gradcam.cpp ("gradcam command: ...").
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "data/viz/colormap.h"
#include "data/image/image.h"
#include "data/formats/npy.h"
#include "models/recognition/face_embedder.h"
#include "models/explain/gradcam.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;

struct GradCamArgs {
  std::string image, arch, weights, weights_key, layer, reference, out, method = "gradcam";
  int64_t class_index = -1;
  bool no_detect = false, guided_relu = false, allow_nonfinite = false;
  DetectorFlags detector;
};

// The crop and normalisation of `arch`. torchvision's ResNet-50 is not a face embedder; the KIT
// models that use it (pipelines.md §8) see the MTCNN box plus 10 px, resized to 224x224 and
// ImageNet-normalised: approximated here by facenet's square crop with a 20 px margin.
models::FacePreprocess cam_preprocess(const std::string& arch) {
  if (arch != "resnet50_torchvision") return models::default_preprocess(arch);
  models::FacePreprocess p;
  p.crop = "facenet", p.width = p.height = 224, p.margin = 20;
  p.mean = {0.485 * 255, 0.456 * 255, 0.406 * 255};  // torchvision ImageNet normalisation, on 0..255
  p.std = {0.229 * 255, 0.224 * 255, 0.225 * 255};
  return p;
}

// A face crop of `path` with the face it came from (none with --no-detect).
struct FaceCrop {
  data::Image crop;
  std::optional<models::mtcnn::Face> face;
};

FaceCrop face_crop(const std::string& path, const models::FacePreprocess& prep,
                   const models::mtcnn::Detector* detector) {
  data::Image img = data::read_image(path);
  if (!detector) return {img, std::nullopt};
  auto faces = detector->detect(data::image_to_tensor(img));
  FK_CHECK(!faces.empty(), path,
           ": no face found (use --no-detect for an already-cropped face, or lower --min-face / --thresholds)");
  return {models::crop_face(img, faces[0], prep), faces[0]};  // largest first
}

Tensor batch_of_one(const data::Image& crop, const models::FacePreprocess& prep) {
  return unsqueeze(models::face_tensor(crop, prep), 0);
}

// The embedding the cosine target compares with: the model's "embedding" (or VGGFace2 "features").
Tensor embedding_of(models::Model& model, const Tensor& input, const std::string& what) {
  autograd::NoGrad no_grad;
  for (const auto& [name, t] : model.forward_outputs(input))
    if (name == "embedding" || name == "features") return flatten(t, 0);
  throw Error(what + ": --reference needs an embedding model; this architecture outputs class logits (use --class)");
}

nlohmann::ordered_json face_json(const std::optional<models::mtcnn::Face>& f) {
  if (!f) return nullptr;
  return {{"box", {f->box[0], f->box[1], f->box[2], f->box[3]}}, {"score", f->prob}};
}

int run_gradcam(const GradCamArgs& args) {
  const models::FacePreprocess prep = cam_preprocess(args.arch);
  std::unique_ptr<models::mtcnn::Detector> detector;
  if (!args.no_detect) detector = make_detector(args.detector);

  models::ArchOptions arch_opts;
  arch_opts.features = !args.reference.empty();  // VGGFace2 nets: the 2048-d feature is the embedding
  auto model = models::load_model(args.arch, args.weights, args.weights_key, arch_opts, args.allow_nonfinite);
  const std::string layer = args.layer.empty() ? models::default_layer(args.arch) : args.layer;

  FaceCrop face = face_crop(args.image, prep, detector.get());
  Tensor input = batch_of_one(face.crop, prep);
  models::CamTarget target = models::CamTarget::logit(args.class_index);
  FaceCrop ref_face;
  if (!args.reference.empty()) {
    ref_face = face_crop(args.reference, prep, detector.get());
    target = models::CamTarget::cosine(embedding_of(*model, batch_of_one(ref_face.crop, prep), args.weights));
  }
  models::GradCamOptions opts;
  opts.method = args.method == "gradcam++" ? models::CamMethod::GradCamPlusPlus : models::CamMethod::GradCam;
  opts.guided_relu = args.guided_relu;
  models::GradCamResult r;
  try {
    r = models::grad_cam(*model, input, layer, target, opts);
  } catch (const Error& e) {
    throw Error(args.weights + " (" + args.arch + "): " + e.what());
  }

  // outputs: the heat map, the overlay on the crop as the network saw it, the raw map
  const fs::path heat_path(args.out);
  if (!heat_path.parent_path().empty()) fs::create_directories(heat_path.parent_path());
  const fs::path stem = heat_path.parent_path() / heat_path.stem();
  const std::string overlay_path = stem.string() + "_overlay.png", npy_path = stem.string() + ".npy";
  Tensor map = r.map.to(DType::Float32);
  data::Image heat = data::heatmap_image(map);
  data::Image seen = face.crop;
  if (seen.width != heat.width || seen.height != heat.height)
    seen = data::resize_bilinear(seen, heat.width, heat.height);
  data::write_png(heat_path.string(), heat);
  data::write_png(overlay_path, data::blend(seen, heat, 0.5));
  data::write_npy(npy_path, map);

  nlohmann::ordered_json j;
  j["image"] = args.image;
  j["arch"] = args.arch;
  j["layer"] = r.layer;
  j["method"] = args.method;
  j["guided_relu"] = args.guided_relu;
  j["face"] = face_json(face.face);
  if (args.reference.empty()) {
    j["target"] = {{"class", r.class_index}, {"logit", r.target_value}};
  } else {
    j["target"] = {{"reference", args.reference}, {"reference_face", face_json(ref_face.face)},
                   {"cosine", r.target_value}};
  }
  j["map_size"] = {map.size(1), map.size(0)};  // width, height
  j["outputs"] = {{"heatmap", heat_path.string()}, {"overlay", overlay_path}, {"map", npy_path}};
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace

void add_gradcam_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "gradcam",
      "Grad-CAM heat map of where a recognition network looks on a face: for a class logit, or for the cosine "
      "similarity with a reference face's embedding");
  auto args = std::make_shared<GradCamArgs>();
  cmd->add_option("image", args->image, "The photo (JPEG, PNG, BMP); its largest face is explained")->required();
  cmd->add_option("--arch", args->arch, "Architecture (see `facekit run --help`), e.g. mobilefacenet")->required();
  cmd->add_option("--weights", args->weights, "Weights file of the recognition model (.pt/.pth/.ckpt/.pkl/.npz)")
      ->required();
  cmd->add_option("--weights-key", args->weights_key,
                  "Nested state dict inside the weights file, e.g. net_state_dict for MobileFaceNet checkpoints");
  add_allow_nonfinite_flag(cmd, args->allow_nonfinite);
  cmd->add_option("--layer", args->layer,
                  "Module whose output is explained, dotted as in the state dict (default: the architecture's last "
                  "convolutional stage, e.g. layer4.2.conv3 for resnet50_vggface2, conv2 for mobilefacenet)");
  auto* cls = cmd->add_option("--class", args->class_index,
                              "Class whose logit is explained (default: the highest-scoring class); needs a model "
                              "with a classifier")
                  ->check(CLI::NonNegativeNumber);
  cmd->add_option("--reference", args->reference,
                  "Explain the cosine similarity with the embedding of this photo's largest face (embedding models)")
      ->excludes(cls);
  cmd->add_flag("--no-detect", args->no_detect,
                "Take IMAGE (and the reference) as already-cropped faces, resized to the network's input size");
  cmd->add_option("--method", args->method, "gradcam (default) or gradcam++ (as VGGFace2-GradCAM implements it)")
      ->check(CLI::IsMember({"gradcam", "gradcam++"}));
  cmd->add_flag("--guided-relu", args->guided_relu,
                "Clamp the gradient at every ReLU at 0 as guided backprop does (the VGGFace2-GradCAM scripts do this "
                "before Grad-CAM)");
  cmd->add_option("--out", args->out,
                  "Heat map PNG to write; <stem>_overlay.png and <stem>.npy (the map, float32) go next to it")
      ->required();
  add_detector_flags(cmd, args->detector, "--mtcnn-weights");
  on_run(cmd, [args]() { return run_gradcam(*args); });
}

}  // namespace fk::apps
